// The Flex Consumption plan and the Python Function App. Everything the app connects to is
// reached with its user-assigned identity: host storage, the deployment container, the Durable
// Task Scheduler, Application Insights and, when there is one, the model.

@description('Function App name, globally unique (it becomes <name>.azurewebsites.net).')
param name string

@description('Flex Consumption plan name.')
param planName string

@description('Azure region.')
param location string

@description('Tags applied to the plan and the app; azd finds the app by its azd-service-name tag.')
param tags object = {}

@description('Name of the service in azure.yaml that deploys to this app.')
param serviceName string

@description('Python version of the Functions runtime.')
@allowed([
  '3.11'
  '3.12'
  '3.13'
])
param pythonVersion string

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Client id of that identity.')
param identityClientId string

@description('Blob service endpoint of the host storage account (https://<account>.blob.<suffix>/).')
param storageBlobEndpoint string

@description('URL of the blob container Flex Consumption deploys the package from.')
param deploymentContainerUrl string

@description('Application Insights connection string (holds no secret: local auth is disabled).')
param applicationInsightsConnectionString string

@description('Durable Task Scheduler endpoint.')
param schedulerEndpoint string

@description('Task hub the app runs its orchestrations in.')
param taskHubName string

@description('Memory per instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Upper bound of instances the app scales out to. 125 instances of the largest size fill the 512,000 MB Flex Consumption memory quota of a subscription in one region.')
@minValue(40)
@maxValue(125)
param maximumInstanceCount int = 100

@description('Instances kept warm for the durable trigger group (orchestrations, activities, entities); 0 scales to zero. Always-ready instances are billed while idle.')
@minValue(0)
@maxValue(40)
param durableAlwaysReadyInstances int = 0

@description('Resource id of the subnet for VNet integration; empty for none.')
param virtualNetworkSubnetId string = ''

@description('Further app settings, for example the model endpoint and deployment.')
param extraAppSettings object = {}

@description('Activities the app must not run: the ones placed on a worker pool. Each gets AzureWebJobs.<name>.Disabled, so with work item filtering the scheduler hands their work to the pool.')
param disabledActivities array = []

var appSettingList = [for setting in items(union(baseAppSettings, extraAppSettings)): {
  name: setting.key
  value: setting.value
}]
var disabledActivitySettings = [for activity in disabledActivities: {
  name: 'AzureWebJobs.${activity}.Disabled'
  value: 'true'
}]

// Host storage is blob-only: with the Durable Task Scheduler the host needs blobs (keys,
// leases), not queues or tables, and the identity holds a blob role only. A blob service URI
// (not __accountName, which would point the host at every service) keeps it to that service.
var baseAppSettings = {
  AzureWebJobsStorage__blobServiceUri: storageBlobEndpoint
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  // With host.json's telemetryMode OpenTelemetry, the Python worker's own spans (telemetry.py)
  // are exported beside the host's only when this is on.
  PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY: 'true'
  // The worker calls telemetry.py's extension hooks around each invocation, which name its
  // run on the worker's spans. On by default since Python 3.9; set so it rests on no default.
  PYTHON_ENABLE_WORKER_EXTENSIONS: '1'
  AZURE_CLIENT_ID: identityClientId
  DURABLE_TASK_SCHEDULER_CONNECTION_STRING: 'Endpoint=${schedulerEndpoint};Authentication=ManagedIdentity;ClientID=${identityClientId}'
  TASKHUB_NAME: taskHubName
}

// Flex Consumption scales orchestrations, activities and entities as the `durable` trigger
// group; with no always-ready instances the group is left out rather than set to zero.
var alwaysReadyGroups = (durableAlwaysReadyInstances > 0) ? ['durable'] : []

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  // checkov:skip=CKV_AZURE_225: zone redundancy on Flex Consumption is not offered in every region and needs always-ready instances, which cost money when idle.
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2025-03-01' = {
  // checkov:skip=CKV_AZURE_222: the app is a public HTTP API; its routes are guarded by function keys (or the user's own auth when anonymous).
  // checkov:skip=CKV_AZURE_17: callers authenticate with function keys; requiring client certificates would break every documented call.
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales from zero by design; always-ready instances are billed while idle, so durableAlwaysReadyInstances defaults to 0.
  // checkov:skip=CKV_AZURE_213: the health route needs a function key at the default auth level, and platform probes would keep a scale-to-zero app awake.
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: concat(appSettingList, disabledActivitySettings)
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      runtime: {
        name: 'python'
        version: pythonVersion
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
        alwaysReady: [for group in alwaysReadyGroups: {
          name: group
          instanceCount: durableAlwaysReadyInstances
        }]
      }
    }
  }
}

// azd deploys with a Microsoft Entra token, so basic-auth publishing (FTP and the SCM site) is
// switched off entirely.
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

output id string = functionApp.id
output name string = functionApp.name
output url string = 'https://${functionApp.properties.defaultHostName}'
