// Azure ML run status events to runbridge: the workspace's Event Grid system topic and one subscription
// that delivers RunStatusChanged / RunCompleted of runbridge's own jobs to the app's Event Grid trigger.
// Deployed into the workspace's own resource group (infra/README.md "Azure ML events").
//
// An event only wakes a run, which then polls at once (the poll decides), so a lost event costs latency up
// to the safety-net interval (one hour), never a wrong status. Failed deliveries are retried for a day,
// then written to a dead-letter container in the app's storage account, by the topic's own identity.

param workspaceName string

@description('A workspace has at most one system topic: the name of its existing one, or of the one to make.')
param systemTopicName string

@description('Resource id of the Function App.')
param functionAppId string

@description('Name of the Event Grid trigger function (starters/azureml_events.py).')
param functionName string

@description('Start of the names of the jobs runbridge makes (platforms/azure_ml/clone.py JOB_NAME_PREFIX).')
param jobNamePrefix string

@description('Resource id of the storage account that keeps dead-lettered events.')
param deadLetterStorageId string

param deadLetterContainer string

resource workspace 'Microsoft.MachineLearningServices/workspaces@2024-10-01' existing = {
  name: workspaceName
}

resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: systemTopicName
  location: workspace.location
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: workspace.id
    topicType: 'Microsoft.MachineLearningServices.Workspaces'
  }
}

resource runEvents 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: topic
  name: 'runbridge-run-status'
  properties: {
    eventDeliverySchema: 'EventGridSchema'
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${functionAppId}/functions/${functionName}'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    filter: {
      includedEventTypes: [
        'Microsoft.MachineLearningServices.RunStatusChanged'
        'Microsoft.MachineLearningServices.RunCompleted'
      ]
      advancedFilters: [
        {
          operatorType: 'StringBeginsWith'
          key: 'data.runId'
          values: [
            jobNamePrefix
          ]
        }
      ]
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: deadLetterStorageId
          blobContainerName: deadLetterContainer
        }
      }
    }
  }
}

output topicPrincipalId string = topic.identity.principalId
