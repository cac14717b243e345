// Lets an identity pull images from one container registry.

@description('Name of the container registry.')
param registryName string

@description('Built-in role to grant, as its role definition GUID.')
param roleDefinitionId string

@description('Who gets the role: objects with id (principal object id) and type (User, Group or ServicePrincipal).')
param principals array

resource registry 'Microsoft.ContainerRegistry/registries@2025-11-01' existing = {
  name: registryName
}

// The name is derived from scope, principal and role, so re-running a deployment finds the same
// assignment instead of failing on a duplicate.
resource roleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for principal in principals: {
  name: guid(registry.id, principal.id, roleDefinitionId)
  scope: registry
  properties: {
    principalId: principal.id
    principalType: principal.type
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionId)
  }
}]
