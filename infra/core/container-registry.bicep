// The registry azd builds the worker pool's image in (`remoteBuild`) and the pool pulls it
// from with its identity: no admin user, no password.

@description('Registry name: 5 to 50 letters and digits, globally unique.')
@minLength(5)
@maxLength(50)
param name string

@description('Azure region.')
param location string

@description('Tags applied to the registry.')
param tags object = {}

resource registry 'Microsoft.ContainerRegistry/registries@2025-11-01' = {
  // checkov:skip=CKV_AZURE_166: quarantine is a Premium feature; the only images here are the ones azd builds in this registry from the project's own source.
  // checkov:skip=CKV_AZURE_139: azd's remote build (ACR Tasks) pushes over the public endpoint and private endpoints need Premium; access rests on Entra roles, with the admin user and anonymous pull off.
  // checkov:skip=CKV_AZURE_163: image scanning is Microsoft Defender for Containers, a subscription plan rather than a registry setting; the image is built from the project's pinned requirements.
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Basic'
  }
  properties: {
    adminUserEnabled: false
    anonymousPullEnabled: false
  }
}

output id string = registry.id
output name string = registry.name
output loginServer string = registry.properties.loginServer
