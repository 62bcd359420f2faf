// EventGrid Data Sender on one custom topic, so runbridge's identity can publish run events to it
// (platforms/notify/event_grid.py). Deployed into the topic's own resource group.

param topicName string

@description('Object id of the Function App identity.')
param principalId string

@description('Role definition GUID.')
param roleDefinitionId string

resource topic 'Microsoft.EventGrid/topics@2022-06-15' existing = {
  name: topicName
}

resource senderRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(topic.id, principalId, roleDefinitionId)
  scope: topic
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'runbridge: publish run events'
  }
}
