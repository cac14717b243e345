# azd runs this after `azd provision` (and `azd up`) on Windows with the deployment outputs in
# the environment. It points local.settings.json at the new Durable Task Scheduler and model, so
# `func start` can run against Azure with your own sign-in, and prints where to look next.
$ErrorActionPreference = 'Stop'

Set-Location (Join-Path $PSScriptRoot '..')

$python = if (Get-Command python -ErrorAction SilentlyContinue) { 'python' } else { 'py' }
& $python scripts/write_local_settings.py
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }

Write-Host ''
Write-Host "Function App:          $env:AZURE_FUNCTION_APP_URL"
Write-Host "DTS dashboard:         $env:DURABLE_TASK_SCHEDULER_DASHBOARD_URL"
Write-Host "Application Insights:  $env:APPLICATIONINSIGHTS_NAME (resource group $env:AZURE_RESOURCE_GROUP)"
Write-Host "Function key:          az functionapp keys list -g $env:AZURE_RESOURCE_GROUP -n $env:AZURE_FUNCTION_APP_NAME --query functionKeys.default -o tsv"
