// The Durable Task Scheduler that runs the app's orchestrations, activities and entities, and
// the task hub the app's host.json names through %TASKHUB_NAME%.

@description('Scheduler name: 3-64 letters, digits or hyphens.')
@minLength(3)
@maxLength(64)
param name string

@description('Task hub name: 3-64 letters, digits or hyphens; the app reads it from TASKHUB_NAME.')
@minLength(3)
@maxLength(64)
param taskHubName string

@description('Azure region.')
param location string

@description('Tags applied to the scheduler.')
param tags object = {}

@description('Consumption bills per action; Dedicated reserves capacity units.')
@allowed([
  'Consumption'
  'Dedicated'
])
param skuName string = 'Consumption'

@description('Capacity units, used by the Dedicated SKU only.')
@minValue(1)
param capacity int = 1

@description('IPv4, IPv6 or CIDR ranges allowed to call the scheduler. An empty list denies all traffic.')
@minLength(1)
param ipAllowlist array

@description('Refuse public network access; the app then reaches the scheduler through its private endpoint.')
param privateNetworking bool

@description('Days a completed orchestration is kept before the scheduler purges it.')
@minValue(1)
@maxValue(90)
param completedRetentionDays int

@description('Days a failed orchestration is kept before the scheduler purges it.')
@minValue(1)
@maxValue(90)
param failedRetentionDays int

resource scheduler 'Microsoft.DurableTask/schedulers@2026-02-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    ipAllowlist: ipAllowlist
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
    sku: (skuName == 'Dedicated') ? { name: skuName, capacity: capacity } : { name: skuName }
  }
}

resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2026-02-01' = {
  parent: scheduler
  name: taskHubName
  properties: {}
}

// Without a policy the scheduler keeps every instance until its own retention limit; purging
// finished work early keeps the dashboard and queries fast and the stored history small.
resource retentionPolicy 'Microsoft.DurableTask/schedulers/retentionPolicies@2026-02-01' = {
  parent: scheduler
  name: 'default'
  properties: {
    retentionPolicies: [
      {
        orchestrationState: 'Completed'
        retentionPeriodInDays: completedRetentionDays
      }
      {
        orchestrationState: 'Failed'
        retentionPeriodInDays: failedRetentionDays
      }
    ]
  }
}

output id string = scheduler.id
output schedulerName string = scheduler.name
output endpoint string = scheduler.properties.endpoint
output taskHubName string = taskHub.name
output dashboardUrl string = taskHub.properties.dashboardUrl
