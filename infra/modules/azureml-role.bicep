// The role that lets runbridge's identity read, create (clone) and cancel pipeline jobs in one Azure ML
// workspace, and read their RunHistory details. Deployed into the workspace's own resource group.
// Default role: AzureML Data Scientist (infra/README.md "Roles" says why not a narrower custom role).

param workspaceName string

@description('Object id of the Function App identity.')
param principalId string

@description('Role definition GUID.')
param roleDefinitionId string

resource workspace 'Microsoft.MachineLearningServices/workspaces@2024-10-01' existing = {
  name: workspaceName
}

resource jobsRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(workspace.id, principalId, roleDefinitionId)
  scope: workspace
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionId)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'runbridge: run, watch and cancel pipeline jobs'
  }
}
