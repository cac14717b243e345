// Lets an identity send telemetry to a component whose local (key) auth is disabled.

@description('Name of the Application Insights component.')
param applicationInsightsName string

@description('Built-in role to grant, as its role definition GUID.')
param roleDefinitionId string

@description('Who gets the role: objects with id (principal object id) and type (User, Group or ServicePrincipal).')
param principals array

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// The name is derived from scope, principal and role, so re-running a deployment finds the same
// assignment instead of failing on a duplicate.
resource roleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for principal in principals: {
  name: guid(applicationInsights.id, principal.id, roleDefinitionId)
  scope: applicationInsights
  properties: {
    principalId: principal.id
    principalType: principal.type
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionId)
  }
}]
