// The role that lets runbridge's identity use the Agent Service of one AI Foundry project: the data
// actions .../AIServices/agents/read and .../agents/write (reference/foundry-agents.md §4). Default role:
// Azure AI User (being renamed Foundry User). Deployed into the project's own resource group.

@description('The Foundry (Microsoft.CognitiveServices/accounts) resource.')
param accountName string

@description('The project under that resource.')
param projectName string

@description('Object id of the Function App identity.')
param principalId string

@description('Role definition GUID.')
param roleDefinitionId string

resource account 'Microsoft.CognitiveServices/accounts@2025-06-01' existing = {
  name: accountName
}

resource project 'Microsoft.CognitiveServices/accounts/projects@2025-06-01' existing = {
  parent: account
  name: projectName
}

resource agentsRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(project.id, principalId, roleDefinitionId)
  scope: project
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'runbridge: run agents (threads, messages, runs)'
  }
}
