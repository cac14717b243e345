// Lets an identity call the models of an AI Services account whose local (key) auth is disabled.

@description('Name of the AI Services account.')
param accountName string

@description('Built-in role to grant, as its role definition GUID.')
param roleDefinitionId string

@description('Who gets the role: objects with id (principal object id) and type (User, Group or ServicePrincipal).')
param principals array

resource account 'Microsoft.CognitiveServices/accounts@2025-09-01' existing = {
  name: accountName
}

// The name is derived from scope, principal and role, so re-running a deployment finds the same
// assignment instead of failing on a duplicate.
resource roleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for principal in principals: {
  name: guid(account.id, principal.id, roleDefinitionId)
  scope: account
  properties: {
    principalId: principal.id
    principalType: principal.type
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionId)
  }
}]
