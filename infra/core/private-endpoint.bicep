// A private endpoint for one service of one resource, with the private DNS zones that make the
// service's usual host name resolve to the endpoint's address inside the virtual network.

@description('Private endpoint name.')
param name string

@description('Azure region of the endpoint (the network\'s region).')
param location string

@description('Tags applied to the endpoint and the zones.')
param tags object = {}

@description('Resource id of the subnet the endpoint takes its address from.')
param subnetId string

@description('Resource id of the virtual network the DNS zones are linked to.')
param virtualNetworkId string

@description('Resource id of the resource the endpoint connects to.')
param targetResourceId string

@description('Private Link sub-resource (group id), for example blob, scheduler or account.')
param groupId string

@description('Private DNS zones for that sub-resource, for example privatelink.blob.core.windows.net.')
@minLength(1)
param dnsZoneNames array

resource zones 'Microsoft.Network/privateDnsZones@2024-06-01' = [for zoneName in dnsZoneNames: {
  name: zoneName
  location: 'global'
  tags: tags
}]

resource zoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [for (zoneName, index) in dnsZoneNames: {
  parent: zones[index]
  name: 'link-${name}'
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: virtualNetworkId
    }
  }
}]

resource endpoint 'Microsoft.Network/privateEndpoints@2025-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    subnet: {
      id: subnetId
    }
    privateLinkServiceConnections: [
      {
        name: name
        properties: {
          privateLinkServiceId: targetResourceId
          groupIds: [
            groupId
          ]
        }
      }
    ]
  }
}

resource zoneGroup 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2025-07-01' = {
  parent: endpoint
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [for (zoneName, index) in dnsZoneNames: {
      name: replace(zoneName, '.', '-')
      properties: {
        privateDnsZoneId: zones[index].id
      }
    }]
  }
}
