# azd runs this after `azd provision` (and `azd up`) on Windows with the deployment outputs in
# the environment. It points local.settings.json at the new Durable Task Scheduler and model, so
# `func start` can run against Azure with your own sign-in, and prints where to look next.
$ErrorActionPreference = 'Stop'

Set-Location (Join-Path $PSScriptRoot '..')

# The project's virtual environment has the development tools (requirements-dev.txt).
$python = if (Test-Path '.venv/Scripts/python.exe') { '.venv/Scripts/python.exe' }
          elseif (Get-Command python -ErrorAction SilentlyContinue) { 'python' } else { 'py' }
& $python -c 'import devhost' 2>$null
if ($LASTEXITCODE -eq 0) {
    & $python -m devhost local-settings
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
} else {
    Write-Host 'local.settings.json is unchanged: the development tools are not installed here.'
    Write-Host 'Install them (pip install -r requirements-dev.txt), then run: devhost local-settings'
}

Write-Host ''
Write-Host "Function App:          $env:AZURE_FUNCTION_APP_URL"
Write-Host "DTS dashboard:         $env:DURABLE_TASK_SCHEDULER_DASHBOARD_URL"
Write-Host "Application Insights:  $env:APPLICATIONINSIGHTS_NAME (resource group $env:AZURE_RESOURCE_GROUP)"
Write-Host "Function key:          az functionapp keys list -g $env:AZURE_RESOURCE_GROUP -n $env:AZURE_FUNCTION_APP_NAME --query functionKeys.default -o tsv"
