// A Microsoft Foundry resource (an AI Services account that manages projects), one project in
// it and one chat model deployment the project can use. Key auth is disabled: the app and the
// deploying user reach the project with Microsoft Entra tokens (Azure AI User).

@description('Foundry resource name; also its custom subdomain, so it must be globally unique.')
@minLength(2)
@maxLength(64)
param name string

@description('Project name.')
param projectName string

@description('Azure region; it must offer the model and SKU below.')
param location string

@description('Tags applied to the resource and the project.')
param tags object = {}

@description('Model to deploy, for example gpt-5-mini.')
param modelName string

@description('Model version, for example 2025-04-14.')
param modelVersion string

@description('Deployment SKU, for example GlobalStandard.')
param modelSkuName string

@description('Capacity in thousands of tokens per minute.')
@minValue(1)
param modelCapacity int

@description('Refuse public network access; the app then reaches the account through its private endpoint.')
param privateNetworking bool

resource account 'Microsoft.CognitiveServices/accounts@2025-09-01' = {
  // checkov:skip=CKV_AZURE_134: without privateNetworking the app calls the model over its public endpoint and keys are disabled, so only Entra-authorized callers get in; with it public access is Disabled (tested).
  name: name
  location: location
  tags: tags
  kind: 'AIServices'
  sku: {
    name: 'S0'
  }
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    allowProjectManagement: true
    customSubDomainName: name
    disableLocalAuth: true
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
    networkAcls: {
      defaultAction: privateNetworking ? 'Deny' : 'Allow'
    }
  }
}

resource project 'Microsoft.CognitiveServices/accounts/projects@2025-09-01' = {
  parent: account
  name: projectName
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    displayName: projectName
  }
}

// The account accepts one change at a time, so the deployment waits for the project.
resource chatDeployment 'Microsoft.CognitiveServices/accounts/deployments@2025-09-01' = {
  parent: account
  name: modelName
  dependsOn: [
    project
  ]
  sku: {
    name: modelSkuName
    capacity: modelCapacity
  }
  properties: {
    model: {
      format: 'OpenAI'
      name: modelName
      version: modelVersion
    }
    versionUpgradeOption: 'OnceNewDefaultVersionAvailable'
  }
}

output id string = account.id
output name string = account.name
output projectName string = project.name
output projectEndpoint string = project.properties.endpoints['AI Foundry API']
output deploymentName string = chatDeployment.name
