// A worker pool: a Container App running `python worker.py --pool <name>`, which takes only the
// activities the workflows place on that pool (work item filters). KEDA's
// azure-durabletask-scheduler scaler adds replicas while activities wait in the task hub and
// removes them, down to zero, when none do.

@description('Pool name, as in runs_on(name); it names the Container App.')
@minLength(1)
@maxLength(16)
param poolName string

@description('Container App name.')
@maxLength(32)
param name string

@description('Container Apps environment name.')
param environmentName string

@description('Azure region.')
param location string

@description('Tags applied to every resource; azd finds the app by its azd-service-name tag.')
param tags object = {}

@description('Name of the service in azure.yaml that deploys this pool\'s image.')
param serviceName string

@description('Resource id of the user-assigned identity the pool runs as.')
param identityId string

@description('Client id of that identity.')
param identityClientId string

@description('Login server of the registry azd pushes the image to.')
param registryServer string

@description('Durable Task Scheduler endpoint.')
param schedulerEndpoint string

@description('Task hub the pool takes its activities from.')
param taskHubName string

@description('Application Insights connection string (holds no secret: local auth is disabled).')
param applicationInsightsConnectionString string

@description('OpenTelemetry service.name the pool\'s telemetry carries (OTEL_SERVICE_NAME), as the app\'s does.')
param telemetryServiceName string

@description('Blob endpoint of the document storage the placed steps read and write (DOCUMENTS_STORAGE), reached with the pool\'s identity.')
param documentsBlobEndpoint string

@description('Fewest replicas; 0 scales to zero while no activity waits.')
@minValue(0)
@maxValue(30)
param minReplicas int = 0

@description('Most replicas.')
@minValue(1)
@maxValue(300)
param maxReplicas int = 10

@description('Activities one replica takes at a time, which the scaler divides the waiting activities by.')
@minValue(1)
param activitiesPerReplica int = 1

@description('Serverless GPU workload profile type, or empty to run on the Consumption (CPU) profile.')
@allowed([
  ''
  'Consumption-GPU-NC8as-T4'
  'Consumption-GPU-NC24-A100'
])
param gpuProfileType string = ''

@description('CPU cores of one replica (Consumption profile).')
param cpu string = '1.0'

@description('Memory of one replica (Consumption profile), matching cpu (2 GiB per core).')
param memory string = '2Gi'

var gpuProfileName = 'gpu'
var consumptionProfiles = [{ name: 'Consumption', workloadProfileType: 'Consumption' }]
var gpuProfiles = empty(gpuProfileType) ? [] : [{ name: gpuProfileName, workloadProfileType: gpuProfileType }]
var workloadProfiles = concat(consumptionProfiles, gpuProfiles)
// azd replaces the image on deploy; until then the app runs a public placeholder.
var placeholderImage = 'mcr.microsoft.com/k8se/quickstart:latest'

resource environment 'Microsoft.App/managedEnvironments@2025-07-01' = {
  name: environmentName
  location: location
  tags: tags
  properties: {
    workloadProfiles: workloadProfiles
  }
}

resource pool 'Microsoft.App/containerApps@2025-07-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    environmentId: environment.id
    workloadProfileName: empty(gpuProfileType) ? 'Consumption' : gpuProfileName
    configuration: {
      // A worker opens its own connection to the scheduler; nothing connects to it.
      activeRevisionsMode: 'Single'
      registries: [
        {
          server: registryServer
          identity: identityId
        }
      ]
    }
    template: {
      containers: [
        {
          name: 'worker'
          image: placeholderImage
          command: [
            'python'
            'worker.py'
            '--pool'
            poolName
          ]
          resources: {
            cpu: json(cpu)
            memory: memory
          }
          env: [
            {
              name: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'
              value: 'Endpoint=${schedulerEndpoint};Authentication=ManagedIdentity;ClientID=${identityClientId}'
            }
            {
              name: 'TASKHUB_NAME'
              value: taskHubName
            }
            {
              name: 'AZURE_CLIENT_ID'
              value: identityClientId
            }
            {
              name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
              value: applicationInsightsConnectionString
            }
            {
              name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
              value: 'ClientId=${identityClientId};Authorization=AAD'
            }
            {
              name: 'OTEL_SERVICE_NAME'
              value: telemetryServiceName
            }
            {
              name: 'DOCUMENTS_STORAGE__blobServiceUri'
              value: documentsBlobEndpoint
            }
            {
              name: 'DOCUMENTS_STORAGE__credential'
              value: 'managedidentity'
            }
            {
              name: 'DOCUMENTS_STORAGE__clientId'
              value: identityClientId
            }
          ]
        }
      ]
      scale: {
        minReplicas: minReplicas
        maxReplicas: maxReplicas
        rules: [
          {
            name: 'waiting-activities'
            custom: {
              type: 'azure-durabletask-scheduler'
              identity: identityId
              metadata: {
                endpoint: schedulerEndpoint
                taskhubName: taskHubName
                workItemType: 'Activity'
                maxConcurrentWorkItemsCount: string(activitiesPerReplica)
              }
            }
          }
        ]
      }
    }
  }
}

output name string = pool.name
output environmentName string = environment.name
