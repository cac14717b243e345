// Everything a generated dafx-func project needs in Azure, deployed by `azd up`.
// The template's post-generation hook keeps the fenced model-provider blocks below only for the
// provider a project chose (see docs/infrastructure.md in the template).

targetScope = 'subscription'

@description('Name of the azd environment; it seeds every resource name.')
@minLength(1)
@maxLength(64)
param environmentName string

// Regions that offer Flex Consumption (the scheduler publishes no region list to check it
// against); how the list was made and how to refresh it is in docs/deploy.md ("Regions").
@description('Azure region for every resource except the model.')
@metadata({
  azd: {
    type: 'location'
  }
})
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'southindia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'ukwest'
  'westcentralus'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
param location string

@description('Object id of the person or principal running azd; it gets the data roles needed to open the DTS dashboard and run the app locally against Azure. Empty skips those roles.')
param principalId string = ''

@description('Kind of principal in principalId (azd env AZURE_PRINCIPAL_TYPE).')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param principalType string = 'User'

@description('Python version of the Functions runtime.')
@allowed([
  '3.11'
  '3.12'
  '3.13'
])
param pythonVersion string

@description('OpenTelemetry service.name of the app (OTEL_SERVICE_NAME): the project.')
param serviceName string

@description('Task hub name; the app reads it from TASKHUB_NAME.')
@minLength(3)
@maxLength(64)
param taskHubName string = 'default'

@description('Durable Task Scheduler SKU: Consumption bills per action, Dedicated reserves capacity units.')
@allowed([
  'Consumption'
  'Dedicated'
])
param schedulerSkuName string = 'Consumption'

@description('Capacity units of a Dedicated scheduler; ignored by Consumption.')
@minValue(1)
param schedulerCapacity int = 1

@description('IP ranges allowed to reach the scheduler. Flex Consumption has no fixed outbound addresses, so the default admits every address and access rests on Microsoft Entra roles.')
@minLength(1)
param schedulerIpAllowlist array = [
  '0.0.0.0/0'
]

@description('Deploy a virtual network: the app integrates with it, and host storage, the scheduler and the model are reached only through private endpoints (public network access off).')
param privateNetworking bool = false

@description('Address space of the virtual network (privateNetworking only).')
param virtualNetworkAddressPrefix string = '10.0.0.0/16'

@description('Subnet the Function App integrates with (privateNetworking only).')
param appSubnetPrefix string = '10.0.0.0/24'

@description('Subnet of the private endpoints (privateNetworking only).')
param privateEndpointSubnetPrefix string = '10.0.1.0/24'

// The scheduler keeps data at most 30 days on the Consumption SKU and 90 on Dedicated (Durable
// Task Scheduler billing docs). A decorator cannot depend on the SKU, so the bound is
// Dedicated's and the descriptions name Consumption's.
@description('Days the scheduler keeps a completed orchestration before purging it: at most 30 on the Consumption SKU, 90 on Dedicated.')
@minValue(1)
@maxValue(90)
param completedRetentionDays int = 7

@description('Days the scheduler keeps a failed orchestration before purging it: at most 30 on the Consumption SKU, 90 on Dedicated.')
@minValue(1)
@maxValue(90)
param failedRetentionDays int = 14

@description('Function App instances kept warm for orchestrations, activities and entities; 0 scales to zero.')
@minValue(0)
@maxValue(40)
param durableAlwaysReadyInstances int = 0

@description('Memory per Function App instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Upper bound of Function App instances; at most 125, so even 4,096 MB instances fit the 512,000 MB Flex Consumption memory quota per subscription and region.')
@minValue(40)
@maxValue(125)
param maximumInstanceCount int = 100
// dafx:when __worker_pool_enabled=yes

@description('Worker pool for the executors the workflows place with runs_on(name): a Container App running `python worker.py --pool <name>`.')
@minLength(1)
@maxLength(16)
param workerPoolName string

@description('Durable activities placed on the pool (workflows/placement.py); the Function App disables them, so the scheduler routes their work to the pool.')
@minLength(1)
param workerPoolActivities array

@description('Fewest pool replicas (azd env AZURE_WORKER_POOL_MIN_REPLICAS); 0 scales the pool to zero while no activity waits.')
@minValue(0)
@maxValue(30)
param workerPoolMinReplicas int = 0

@description('Most pool replicas (azd env AZURE_WORKER_POOL_MAX_REPLICAS).')
@minValue(1)
@maxValue(300)
param workerPoolMaxReplicas int = 10

@description('Serverless GPU workload profile of the pool (azd env AZURE_WORKER_POOL_GPU_PROFILE), or empty for CPU replicas.')
@allowed([
  ''
  'Consumption-GPU-NC8as-T4'
  'Consumption-GPU-NC24-A100'
])
param workerPoolGpuProfile string = ''
// dafx:end
// dafx:when model_provider=azure_openai|foundry

// azd offers only regions where the subscription has this much quota left for the default model
// and SKU; a test keeps the usage name equal to the defaults below.
@description('Azure region of the model account; it may differ from location.')
@metadata({
  azd: {
    type: 'location'
    usageName: [
      'OpenAI.GlobalStandard.gpt-5-mini,10'
    ]
  }
})
param modelLocation string

// agent-framework-openai always asks for encrypted reasoning, which only reasoning models accept.
@description('Chat model to deploy (azd env AZURE_AI_MODEL_NAME); a reasoning model.')
@allowed([
  'gpt-5'
  'gpt-5-mini'
  'gpt-5-nano'
  'o4-mini'
])
param modelName string = 'gpt-5-mini'

@description('Version of the chat model (azd env AZURE_AI_MODEL_VERSION).')
param modelVersion string = '2025-08-07'

@description('Deployment SKU of the chat model.')
param modelSkuName string = 'GlobalStandard'

@description('Chat model capacity in thousands of tokens per minute.')
@minValue(1)
param modelCapacity int = 10
// dafx:end

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var functionAppName = 'func-${resourceToken}'
var deploymentContainerName = 'app-package-${resourceToken}'

var roles = {
  durableTaskDataContributor: '0ad04412-c4d5-4796-b79c-f76d14c8d402'
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  cognitiveServicesOpenAIUser: '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd'
  azureAIUser: '53ca6127-db72-4b80-b1b0-d745d6d5456d'
  acrPull: '7f951dda-4ed3-4680-a7ca-43fe172d538d'
}
// Private endpoint DNS zones, per service (environment() keeps them right in sovereign clouds).
var privateDnsZones = {
  blob: 'privatelink.blob.${environment().suffixes.storage}'
  scheduler: 'privatelink.durabletask.io'
  aiServices: [
    'privatelink.cognitiveservices.azure.com'
    'privatelink.openai.azure.com'
    'privatelink.services.ai.azure.com'
  ]
}
// The app's identity always gets data roles; the person running azd gets the ones they need to
// watch the app (DTS dashboard) and run it locally against the same Azure resources.
var deployer = empty(principalId) ? [] : [{ id: principalId, type: principalType }]

resource rg 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'core/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'core/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    privateNetworking: privateNetworking
// dafx:when batch_workflow!=none
    // The document batch reads its documents from one container and writes results to another.
    blobContainerNames: [
      'documents'
      'batch-results'
    ]
// dafx:end
  }
}

module network 'core/network.bicep' = {
  name: 'network'
  scope: rg
  params: {
    enabled: privateNetworking
    name: 'vnet-${resourceToken}'
    location: location
    tags: tags
    addressPrefix: virtualNetworkAddressPrefix
    appSubnetPrefix: appSubnetPrefix
    privateEndpointSubnetPrefix: privateEndpointSubnetPrefix
  }
}

module storagePrivateEndpoint 'core/private-endpoint.bicep' = if (privateNetworking) {
  name: 'storage-private-endpoint'
  scope: rg
  params: {
    name: 'pe-st${resourceToken}-blob'
    location: location
    tags: tags
    subnetId: network.outputs.privateEndpointSubnetId
    virtualNetworkId: network.outputs.id
    targetResourceId: storage.outputs.id
    groupId: 'blob'
    dnsZoneNames: [
      privateDnsZones.blob
    ]
  }
}

module monitoring 'core/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
  }
}

module scheduler 'core/durable-task-scheduler.bicep' = {
  name: 'durable-task-scheduler'
  scope: rg
  params: {
    name: 'dts-${resourceToken}'
    taskHubName: taskHubName
    location: location
    tags: tags
    skuName: schedulerSkuName
    capacity: schedulerCapacity
    ipAllowlist: schedulerIpAllowlist
    privateNetworking: privateNetworking
    completedRetentionDays: completedRetentionDays
    failedRetentionDays: failedRetentionDays
  }
}

module schedulerPrivateEndpoint 'core/private-endpoint.bicep' = if (privateNetworking) {
  name: 'scheduler-private-endpoint'
  scope: rg
  params: {
    name: 'pe-dts-${resourceToken}'
    location: location
    tags: tags
    subnetId: network.outputs.privateEndpointSubnetId
    virtualNetworkId: network.outputs.id
    targetResourceId: scheduler.outputs.id
    groupId: 'scheduler'
    dnsZoneNames: [
      privateDnsZones.scheduler
    ]
  }
}
var appPrincipal = [{ id: identity.outputs.principalId, type: 'ServicePrincipal' }]
// dafx:when model_provider=azure_openai

module openAi 'ai/openai-account.bicep' = {
  name: 'openai'
  scope: rg
  params: {
    name: 'oai-${resourceToken}'
    location: modelLocation
    tags: tags
    modelName: modelName
    modelVersion: modelVersion
    modelSkuName: modelSkuName
    modelCapacity: modelCapacity
    privateNetworking: privateNetworking
  }
}

// The endpoint lives in the app's region and network, whatever region the account is in.
module openAiPrivateEndpoint 'core/private-endpoint.bicep' = if (privateNetworking) {
  name: 'openai-private-endpoint'
  scope: rg
  params: {
    name: 'pe-oai-${resourceToken}'
    location: location
    tags: tags
    subnetId: network.outputs.privateEndpointSubnetId
    virtualNetworkId: network.outputs.id
    targetResourceId: openAi.outputs.id
    groupId: 'account'
    dnsZoneNames: privateDnsZones.aiServices
  }
}

module openAiRoles 'rbac/ai-account-roles.bicep' = {
  name: 'openai-roles'
  scope: rg
  params: {
    accountName: openAi.outputs.name
    roleDefinitionId: roles.cognitiveServicesOpenAIUser
    principals: concat(appPrincipal, deployer)
  }
}
// dafx:end
// dafx:when model_provider=foundry

module foundry 'ai/foundry-project.bicep' = {
  name: 'foundry'
  scope: rg
  params: {
    name: 'aif-${resourceToken}'
    projectName: 'proj-${resourceToken}'
    location: modelLocation
    tags: tags
    modelName: modelName
    modelVersion: modelVersion
    modelSkuName: modelSkuName
    modelCapacity: modelCapacity
    privateNetworking: privateNetworking
  }
}

// The endpoint lives in the app's region and network, whatever region the account is in.
module foundryPrivateEndpoint 'core/private-endpoint.bicep' = if (privateNetworking) {
  name: 'foundry-private-endpoint'
  scope: rg
  params: {
    name: 'pe-aif-${resourceToken}'
    location: location
    tags: tags
    subnetId: network.outputs.privateEndpointSubnetId
    virtualNetworkId: network.outputs.id
    targetResourceId: foundry.outputs.id
    groupId: 'account'
    dnsZoneNames: privateDnsZones.aiServices
  }
}

// Azure AI User on the project, not the Foundry resource: the app can use this project only.
module foundryRoles 'rbac/ai-project-roles.bicep' = {
  name: 'foundry-roles'
  scope: rg
  params: {
    accountName: foundry.outputs.name
    projectName: foundry.outputs.projectName
    roleDefinitionId: roles.azureAIUser
    principals: concat(appPrincipal, deployer)
  }
}
// dafx:end

module functionApp 'app/function-app.bicep' = {
  name: 'function-app'
  scope: rg
  params: {
    name: functionAppName
    planName: 'plan-${resourceToken}'
    location: location
    tags: tags
    serviceName: 'function'
    pythonVersion: pythonVersion
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    schedulerEndpoint: scheduler.outputs.endpoint
    taskHubName: scheduler.outputs.taskHubName
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    durableAlwaysReadyInstances: durableAlwaysReadyInstances
    virtualNetworkSubnetId: network.outputs.appSubnetId
// dafx:when __worker_pool_enabled=yes
    disabledActivities: workerPoolActivities
// dafx:end
    extraAppSettings: {
      OTEL_SERVICE_NAME: serviceName
// dafx:when model_provider=azure_openai
      AZURE_OPENAI_ENDPOINT: openAi.outputs.endpoint
      AZURE_OPENAI_CHAT_MODEL: openAi.outputs.deploymentName
// dafx:end
// dafx:when model_provider=foundry
      FOUNDRY_PROJECT_ENDPOINT: foundry.outputs.projectEndpoint
      FOUNDRY_MODEL: foundry.outputs.deploymentName
// dafx:end
// dafx:when batch_workflow!=none
      // The document storage, reached with the app's identity (its Storage Blob Data Owner role
      // on the account, granted below for host storage, covers the document containers).
      DOCUMENTS_STORAGE__blobServiceUri: storage.outputs.blobEndpoint
      DOCUMENTS_STORAGE__credential: 'managedidentity'
      DOCUMENTS_STORAGE__clientId: identity.outputs.clientId
// dafx:end
    }
  }
  // The app starts as soon as it exists; its roles (the model's too, or its first agent calls
  // get 403), and with privateNetworking its private endpoints, must be in place by then.
  dependsOn: [
    storageRoles
    monitoringRoles
    taskHubRoles
    storagePrivateEndpoint
    schedulerPrivateEndpoint
// dafx:when model_provider=azure_openai
    openAiRoles
    openAiPrivateEndpoint
// dafx:end
// dafx:when model_provider=foundry
    foundryRoles
    foundryPrivateEndpoint
// dafx:end
  ]
}

module storageRoles 'rbac/storage-account-roles.bicep' = {
  name: 'storage-roles'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    roleDefinitionId: roles.storageBlobDataOwner
    principals: appPrincipal
  }
}

// dafx:when batch_workflow!=none
// The person running azd uploads documents and reads results, from the portal or from the app
// running locally against Azure.
module documentRoles 'rbac/storage-account-roles.bicep' = {
  name: 'document-storage-roles'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    roleDefinitionId: roles.storageBlobDataContributor
    principals: deployer
  }
}
// dafx:end

module monitoringRoles 'rbac/app-insights-roles.bicep' = {
  name: 'monitoring-roles'
  scope: rg
  params: {
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    roleDefinitionId: roles.monitoringMetricsPublisher
    principals: appPrincipal
  }
}

module taskHubRoles 'rbac/task-hub-roles.bicep' = {
  name: 'task-hub-roles'
  scope: rg
  params: {
    schedulerName: scheduler.outputs.schedulerName
    taskHubName: scheduler.outputs.taskHubName
    roleDefinitionId: roles.durableTaskDataContributor
    principals: concat(appPrincipal, deployer)
  }
}

// dafx:when __worker_pool_enabled=yes
// The worker pool runs as an identity of its own, with the roles a Durable Task worker needs.
module poolIdentity 'core/identity.bicep' = {
  name: 'pool-identity'
  scope: rg
  params: {
    name: 'id-${workerPoolName}-${resourceToken}'
    location: location
    tags: tags
  }
}

var poolPrincipal = [{ id: poolIdentity.outputs.principalId, type: 'ServicePrincipal' }]

module registry 'core/container-registry.bicep' = {
  name: 'container-registry'
  scope: rg
  params: {
    name: 'cr${resourceToken}'
    location: location
    tags: tags
  }
}

module poolRegistryRoles 'rbac/registry-roles.bicep' = {
  name: 'pool-registry-roles'
  scope: rg
  params: {
    registryName: registry.outputs.name
    roleDefinitionId: roles.acrPull
    principals: poolPrincipal
  }
}

module poolTaskHubRoles 'rbac/task-hub-roles.bicep' = {
  name: 'pool-task-hub-roles'
  scope: rg
  params: {
    schedulerName: scheduler.outputs.schedulerName
    taskHubName: scheduler.outputs.taskHubName
    roleDefinitionId: roles.durableTaskDataContributor
    principals: poolPrincipal
  }
}

// The pool analyses the document batch's chunks: it reads the documents and manifests and
// writes the results, in the same account the Function App uses.
module poolStorageRoles 'rbac/storage-account-roles.bicep' = {
  name: 'pool-storage-roles'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    roleDefinitionId: roles.storageBlobDataContributor
    principals: poolPrincipal
  }
}

module poolMonitoringRoles 'rbac/app-insights-roles.bicep' = {
  name: 'pool-monitoring-roles'
  scope: rg
  params: {
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    roleDefinitionId: roles.monitoringMetricsPublisher
    principals: poolPrincipal
  }
}

module workerPool 'app/worker-pool.bicep' = {
  name: 'worker-pool'
  scope: rg
  params: {
    poolName: workerPoolName
    name: '${workerPoolName}-${resourceToken}'
    environmentName: 'cae-${resourceToken}'
    location: location
    tags: tags
    serviceName: 'worker-${workerPoolName}'
    identityId: poolIdentity.outputs.id
    identityClientId: poolIdentity.outputs.clientId
    registryServer: registry.outputs.loginServer
    schedulerEndpoint: scheduler.outputs.endpoint
    taskHubName: scheduler.outputs.taskHubName
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    telemetryServiceName: serviceName
    documentsBlobEndpoint: storage.outputs.blobEndpoint
    minReplicas: workerPoolMinReplicas
    maxReplicas: workerPoolMaxReplicas
    gpuProfileType: workerPoolGpuProfile
  }
  // The pool pulls its image and connects to the scheduler as soon as it exists.
  dependsOn: [
    poolRegistryRoles
    poolTaskHubRoles
    poolStorageRoles
    poolMonitoringRoles
  ]
}
// dafx:end

// Upper-case outputs become azd environment values (`azd env get-values`), which the
// post-provision scripts turn into local.settings.json.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_ID string = functionApp.outputs.id
output AZURE_FUNCTION_APP_URL string = functionApp.outputs.url
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output DURABLE_TASK_SCHEDULER_NAME string = scheduler.outputs.schedulerName
output DURABLE_TASK_SCHEDULER_ENDPOINT string = scheduler.outputs.endpoint
output TASKHUB_NAME string = scheduler.outputs.taskHubName
output DURABLE_TASK_SCHEDULER_DASHBOARD_URL string = scheduler.outputs.dashboardUrl
// dafx:when model_provider=azure_openai
output AZURE_OPENAI_ENDPOINT string = openAi.outputs.endpoint
output AZURE_OPENAI_CHAT_MODEL string = openAi.outputs.deploymentName
// dafx:end
// dafx:when model_provider=foundry
output FOUNDRY_PROJECT_ENDPOINT string = foundry.outputs.projectEndpoint
output FOUNDRY_MODEL string = foundry.outputs.deploymentName
// dafx:end
// dafx:when __worker_pool_enabled=yes
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = registry.outputs.loginServer
output WORKER_POOL_APP_NAME string = workerPool.outputs.name
// dafx:end
