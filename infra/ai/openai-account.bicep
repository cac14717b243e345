// An Azure AI Services account serving one OpenAI chat model. Key auth is disabled: the app
// and the deploying user call it with Microsoft Entra tokens (Cognitive Services OpenAI User).

@description('Account name; also its custom subdomain, so it must be globally unique.')
@minLength(2)
@maxLength(64)
param name string

@description('Azure region; it must offer the model and SKU below.')
param location string

@description('Tags applied to the account.')
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
    customSubDomainName: name
    disableLocalAuth: true
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
    networkAcls: {
      defaultAction: privateNetworking ? 'Deny' : 'Allow'
    }
  }
}

resource chatDeployment 'Microsoft.CognitiveServices/accounts/deployments@2025-09-01' = {
  parent: account
  name: modelName
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
output endpoint string = account.properties.endpoints['OpenAI Language Model Instance API']
output deploymentName string = chatDeployment.name
