// Everything a generated dafx-func project needs in Azure, deployed by `azd up`.
// Blocks between `// dafx:when model_provider=...` and `// dafx:end` are kept or dropped by the
// template's post-generation hook according to the project's model provider.

targetScope = 'subscription'

@description('Name of the azd environment; it seeds every resource name.')
@minLength(1)
@maxLength(64)
param environmentName string

@description('Azure region for every resource.')
@minLength(1)
param location string

@description('Object id of the person or principal running azd; it gets the data roles needed to open the DTS dashboard and run the app locally against Azure. Empty skips those roles.')
param principalId string = ''

@description('Kind of principal in principalId.')
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

@description('Memory per Function App instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Upper bound of Function App instances.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100
// dafx:when model_provider=azure_openai|foundry

@description('Chat model to deploy.')
param modelName string = 'gpt-4.1-mini'

@description('Version of the chat model.')
param modelVersion string = '2025-04-14'

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
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  cognitiveServicesOpenAIUser: '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd'
  azureAIUser: '53ca6127-db72-4b80-b1b0-d745d6d5456d'
}
var deployerGetsRoles = !empty(principalId)

resource resourceGroup 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'core/identity.bicep' = {
  name: 'identity'
  scope: resourceGroup
  params: {
    name: 'id-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'core/storage.bicep' = {
  name: 'storage'
  scope: resourceGroup
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
  }
}

module monitoring 'core/monitoring.bicep' = {
  name: 'monitoring'
  scope: resourceGroup
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
  }
}

module scheduler 'core/durable-task-scheduler.bicep' = {
  name: 'durable-task-scheduler'
  scope: resourceGroup
  params: {
    name: 'dts-${resourceToken}'
    taskHubName: taskHubName
    location: location
    tags: tags
    skuName: schedulerSkuName
    capacity: schedulerCapacity
    ipAllowlist: schedulerIpAllowlist
  }
}
// dafx:when model_provider=azure_openai

module openAi 'ai/openai-account.bicep' = {
  name: 'openai'
  scope: resourceGroup
  params: {
    name: 'oai-${resourceToken}'
    location: location
    tags: tags
    modelName: modelName
    modelVersion: modelVersion
    modelSkuName: modelSkuName
    modelCapacity: modelCapacity
  }
}

module openAiRoles 'rbac/ai-account-roles.bicep' = {
  name: 'openai-roles'
  scope: resourceGroup
  params: {
    accountName: openAi.outputs.name
    assignments: concat(
      [
        {
          principalId: identity.outputs.principalId
          principalType: 'ServicePrincipal'
          roleDefinitionId: roles.cognitiveServicesOpenAIUser
        }
      ],
      deployerGetsRoles
        ? [
            {
              principalId: principalId
              principalType: principalType
              roleDefinitionId: roles.cognitiveServicesOpenAIUser
            }
          ]
        : []
    )
  }
}
// dafx:end
