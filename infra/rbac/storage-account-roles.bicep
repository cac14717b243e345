// Data-plane roles on the host storage account (no account keys exist to fall back on).

@description('Name of the storage account.')
param storageAccountName string

@description('Built-in role to grant, as its role definition GUID.')
param roleDefinitionId string

@description('Who gets the role: objects with id (principal object id) and type (User, Group or ServicePrincipal).')
param principals array

resource storage 'Microsoft.Storage/storageAccounts@2026-04-01' existing = {
  name: storageAccountName
}

// The name is derived from scope, principal and role, so re-running a deployment finds the same
// assignment instead of failing on a duplicate.
resource roleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for principal in principals: {
  name: guid(storage.id, principal.id, roleDefinitionId)
  scope: storage
  properties: {
    principalId: principal.id
    principalType: principal.type
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionId)
  }
}]
