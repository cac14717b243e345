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

@description('Model to deploy, for example gpt-4.1-mini.')
param modelName string

@description('Model version, for example 2025-04-14.')
param modelVersion string

@description('Deployment SKU, for example GlobalStandard.')
param modelSkuName string

@description('Capacity in thousands of tokens per minute.')
@minValue(1)
param modelCapacity int

resource account 'Microsoft.CognitiveServices/accounts@2025-09-01' = {
  // checkov:skip=CKV_AZURE_134: a Flex Consumption app without VNet integration calls the model over its public endpoint; keys are disabled, so only Entra-authorized callers get in.
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
    publicNetworkAccess: 'Enabled'
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

output name string = account.name
output endpoint string = 'https://${account.properties.customSubDomainName}.openai.azure.com/'
output deploymentName string = chatDeployment.name
