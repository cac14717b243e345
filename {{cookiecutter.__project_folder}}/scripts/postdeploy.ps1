# azd runs this after `azd deploy` (and `azd up`) on Windows with the deployment outputs in the
# environment. It syncs the Function App's triggers so queued durable work starts without a
# manual Refresh in the portal (see scripts/sync_triggers.py).
$ErrorActionPreference = 'Stop'

Set-Location (Join-Path $PSScriptRoot '..')

$python = if (Get-Command python -ErrorAction SilentlyContinue) { 'python' } else { 'py' }
& $python scripts/sync_triggers.py
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
