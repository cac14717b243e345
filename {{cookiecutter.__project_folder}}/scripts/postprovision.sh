#!/bin/sh
# azd runs this after `azd provision` (and `azd up`) with the deployment outputs in the
# environment. It points local.settings.json at the new Durable Task Scheduler and model, so
# `func start` can run against Azure with your own sign-in, and prints where to look next.
set -eu

cd "$(dirname "$0")/.."

# The project's virtual environment has the development tools (requirements-dev.txt).
if [ -x .venv/bin/python ]; then
  python=.venv/bin/python
elif command -v python3 >/dev/null 2>&1; then
  python=python3
else
  python=python
fi
if "$python" -c "import devhost" >/dev/null 2>&1; then
  "$python" -m devhost local-settings
else
  echo "local.settings.json is unchanged: the development tools are not installed here."
  echo "Install them (pip install -r requirements-dev.txt), then run: devhost local-settings"
fi

echo ""
echo "Function App:          ${AZURE_FUNCTION_APP_URL}"
echo "DTS dashboard:         ${DURABLE_TASK_SCHEDULER_DASHBOARD_URL}"
echo "Application Insights:  ${APPLICATIONINSIGHTS_NAME} (resource group ${AZURE_RESOURCE_GROUP})"
echo "Function key:          az functionapp keys list -g ${AZURE_RESOURCE_GROUP} -n ${AZURE_FUNCTION_APP_NAME} --query functionKeys.default -o tsv"
