#!/bin/sh
# azd runs this after `azd provision` (and `azd up`) with the deployment outputs in the
# environment. It points local.settings.json at the new Durable Task Scheduler and model, so
# `func start` can run against Azure with your own sign-in, and prints where to look next.
set -eu

cd "$(dirname "$0")/.."

if command -v python3 >/dev/null 2>&1; then
  python=python3
else
  python=python
fi
"$python" scripts/write_local_settings.py

echo ""
echo "Function App:          ${AZURE_FUNCTION_APP_URL}"
echo "DTS dashboard:         ${DURABLE_TASK_SCHEDULER_DASHBOARD_URL}"
echo "Application Insights:  ${APPLICATIONINSIGHTS_NAME} (resource group ${AZURE_RESOURCE_GROUP})"
echo "Function key:          az functionapp keys list -g ${AZURE_RESOURCE_GROUP} -n ${AZURE_FUNCTION_APP_NAME} --query functionKeys.default -o tsv"
