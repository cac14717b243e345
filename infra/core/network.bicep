// The virtual network of the private-networking option: one subnet the Function App integrates
// with (Flex Consumption delegates it to Microsoft.App/environments) and one for the private
// endpoints of host storage, the Durable Task Scheduler and the model account.
// With `enabled` false nothing is deployed and the outputs are empty strings, so callers need no
// conditional module outputs (which Bicep reports as possibly null).

@description('Deploy the network; false leaves every resource out.')
param enabled bool

@description('Virtual network name.')
param name string

@description('Azure region.')
param location string

@description('Tags applied to the network and its security group.')
param tags object = {}

@description('Address space of the network.')
param addressPrefix string

@description('Address range of the subnet the Function App integrates with (Flex Consumption needs at least a /28; a /24 leaves room to scale out).')
param appSubnetPrefix string

@description('Address range of the subnet that holds the private endpoints.')
param privateEndpointSubnetPrefix string

var appSubnetName = 'app'
var privateEndpointSubnetName = 'private-endpoints'

// No inbound rule is needed: the app's subnet only carries its outbound traffic, and private
// endpoints are reached from inside the network. The platform's default rules apply.
resource securityGroup 'Microsoft.Network/networkSecurityGroups@2025-07-01' = if (enabled) {
  name: 'nsg-${name}'
  location: location
  tags: tags
  properties: {
    securityRules: []
  }
}

resource network 'Microsoft.Network/virtualNetworks@2025-07-01' = if (enabled) {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: [
      {
        name: appSubnetName
        properties: {
          addressPrefix: appSubnetPrefix
          networkSecurityGroup: {
            id: securityGroup.id
          }
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: privateEndpointSubnetName
        properties: {
          addressPrefix: privateEndpointSubnetPrefix
          networkSecurityGroup: {
            id: securityGroup.id
          }
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }
}

output id string = enabled ? resourceId('Microsoft.Network/virtualNetworks', name) : ''
output appSubnetId string = enabled ? resourceId('Microsoft.Network/virtualNetworks/subnets', name, appSubnetName) : ''
output privateEndpointSubnetId string = enabled ? resourceId('Microsoft.Network/virtualNetworks/subnets', name, privateEndpointSubnetName) : ''
