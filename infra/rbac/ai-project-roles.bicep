// Lets an identity use one Foundry project (its models and agents) without rights on the
// Foundry resource's other projects.

@description('Name of the Foundry resource (AI Services account) that holds the project.')
param accountName string

@description('Name of the project.')
param projectName string

@description('Built-in role to grant, as its role definition GUID.')
param roleDefinitionId string

@description('Who gets the role: objects with id (principal object id) and type (User, Group or ServicePrincipal).')
param principals array

resource account 'Microsoft.CognitiveServices/accounts@2025-09-01' existing = {
  name: accountName
}

resource project 'Microsoft.CognitiveServices/accounts/projects@2025-09-01' existing = {
  parent: account
  name: projectName
}

// The name is derived from scope, principal and role, so re-running a deployment finds the same
// assignment instead of failing on a duplicate.
resource roleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for principal in principals: {
  name: guid(project.id, principal.id, roleDefinitionId)
  scope: project
  properties: {
    principalId: principal.id
    principalType: principal.type
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionId)
  }
}]
