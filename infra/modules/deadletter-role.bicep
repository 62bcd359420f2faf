// Lets an Event Grid system topic's identity write dead-lettered events into the app's storage account
// (which accepts Entra ID only). Deployed into the app's resource group.

param storageAccountName string

@description('Object id of the system topic identity.')
param principalId string

@description('Role definition GUID.')
param roleDefinitionId string

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource deadLetterRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, roleDefinitionId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'runbridge: Event Grid dead-letters undeliverable Azure ML run events'
  }
}
