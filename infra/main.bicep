// runbridge on Azure Functions Flex Consumption (Python 3.11).
//
// What this deploys (infra/README.md explains every choice):
// - a resource group with: a user-assigned managed identity, a storage account that accepts Entra ID
//   only (no shared keys, no connection string), Log Analytics + Application Insights (Entra ingestion),
//   a Key Vault for Abacus.AI API keys, and the Function App on a Flex Consumption plan;
// - the roles the identity needs on the host storage, Key Vault and Application Insights;
// - for each connection: the app settings `CONNECTIONS__<name>__<key>` that core/connections.py reads,
//   and (unless assignRole is false) the role the identity needs on the platform's resource.
//
// Deploy: `azd up` (azure.yaml at the repo root), or
// `az deployment sub create -l <region> -f infra/main.bicep -p infra/main.parameters.json -p environmentName=...`.
targetScope = 'subscription'

metadata description = 'runbridge: remote AI/ML jobs for a workload scheduler, on Azure Durable Functions'

// ---- connection types (DESIGN.md "Connections"; one array per type) ---------------------------------

// An Azure ML / AI Foundry hub workspace reached through the ARM Jobs API.
type azureMlConnection = {
  // connection name: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit
  name: string
  subscriptionId: string
  resourceGroup: string
  workspace: string
  // the workspace's region, e.g. eastus (RunHistory host)
  region: string
  tenantId: string?
  armEndpoint: string?
  historyEndpoint: string?
  // false: do not create the role assignment (someone with Owner on the workspace grants it)
  assignRole: bool?
  // 'eventgrid': the workspace's system topic delivers run status events to the app, which then polls as a
  // safety net only; this template makes the topic and subscription (infra/README.md "Azure ML events")
  events: string?
  // the workspace's existing Event Grid system topic, if it has one (a workspace has at most one)
  eventSystemTopic: string?
  // false: the app setting only; the topic and subscription are made by whoever owns the workspace
  wireEvents: bool?
}

// An AI Foundry project's Agent Service (assistants data plane); Entra ID tokens only, never a key.
type foundryAgentsConnection = {
  name: string
  // https://<resource>.services.ai.azure.com/api/projects/<project>
  endpoint: string
  apiVersion: string?
  tenantId: string?
  // /subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.CognitiveServices/accounts/<a>/projects/<p>:
  // the monitor link, and the scope of the Azure AI User role assignment
  projectResourceId: string?
  assignRole: bool?
}

// An Abacus.AI organisation reached with an API key kept in Key Vault.
type abacusConnection = {
  name: string
  // default https://api.abacus.ai
  endpoint: string?
  // the organisation's web app host for monitor links; default https://abacus.ai
  dashboardEndpoint: string?
  // Key Vault secret name; default abacus-<name>-api-key
  apiKeySecretName: string?
}

// An Event Grid custom topic that run events are pushed to (core/sinks.py, DESIGN.md "The status contract,
// pushed"); the app's identity gets EventGrid Data Sender on it.
type eventGridSink = {
  // sink name (NOTIFY__<name>__*): 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit
  name: string
  // /subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.EventGrid/topics/<topic>
  topicResourceId: string
  // https://<topic>.<region>-1.eventgrid.azure.net/api/events
  topicEndpoint: string
  // comma-separated event types it takes (default all)
  types: string?
  // true: only runs whose request names this sink in `notify`
  perRequest: bool?
  assignRole: bool?
}

// ---- parameters -----------------------------------------------------------------------------------

@minLength(1)
@maxLength(40)
@description('Environment name (azd sets it): part of the resource group name and of the tags.')
param environmentName string

@minLength(1)
@description('Region of every resource; Flex Consumption must be offered there.')
param location string

@description('Resource group to create or update; empty means rg-<environmentName>.')
param resourceGroupName string = ''

@description('Object id of the person or pipeline deploying (azd passes AZURE_PRINCIPAL_ID); it gets Key Vault Secrets Officer so it can set the Abacus API keys. Empty: no assignment.')
param principalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string = 'User'

@description('Azure ML workspaces the app may run pipeline jobs in.')
param azureMlConnections azureMlConnection[] = []

@description('AI Foundry projects whose agents the app may run.')
param foundryAgentsConnections foundryAgentsConnection[] = []

@description('Abacus.AI organisations the app may run pipelines in.')
param abacusConnections abacusConnection[] = []

@secure()
@description('Event Grid custom topics that receive run events (CloudEvents 1.0).')
param eventGridSinks eventGridSink[] = []

@description('Abacus API keys by connection name; each becomes a Key Vault secret. Leave empty and set the secrets with `az keyvault secret set` after the deployment to keep keys out of the deployment altogether.')
param abacusApiKeys object = {}

@minValue(1)
@maxValue(1000)
@description('Upper bound on Function App instances; with host.json maxConcurrentActivityFunctions it bounds the calls made to the platforms at once (docs/operations.md "Capacity").')
param maximumInstanceCount int = 2

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(1000)
@description('HTTP requests one instance serves at once (the run API handlers are async and short).')
param httpPerInstanceConcurrency int = 16

@description('Key Vault purge protection (cannot be turned off once on). False only for throwaway environments.')
param keyVaultPurgeProtection bool = true

@description('Role given on each Azure ML workspace; empty means AzureML Data Scientist (infra/README.md "Roles").')
param azureMlRoleDefinitionId string = ''

@description('Role given on each Foundry project; empty means Azure AI User (infra/README.md "Roles").')
param foundryRoleDefinitionId string = ''

// ---- names ------------------------------------------------------------------------------------------

var roles = loadJsonContent('roles.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
  application: 'runbridge'
}
var azureMlRole = empty(azureMlRoleDefinitionId) ? roles.azureMlDataScientist : azureMlRoleDefinitionId
var foundryRole = empty(foundryRoleDefinitionId) ? roles.azureAiUser : foundryRoleDefinitionId

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName
  location: location
  tags: tags
}

// ---- the app --------------------------------------------------------------------------------------

module identity 'modules/identity.bicep' = {
  name: 'runbridge-identity'
  scope: rg
  params: {
    name: 'id-runbridge-${resourceToken}'
    location: location
    tags: tags
  }
}

module app 'modules/app.bicep' = {
  name: 'runbridge-app'
  scope: rg
  params: {
    location: location
    tags: tags
    resourceToken: resourceToken
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    identityPrincipalId: identity.outputs.principalId
    azureMlConnections: azureMlConnections
    foundryAgentsConnections: foundryAgentsConnections
    abacusConnections: abacusConnections
    abacusApiKeys: abacusApiKeys
    eventGridSinks: eventGridSinks
    principalId: principalId
    principalType: principalType
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    httpPerInstanceConcurrency: httpPerInstanceConcurrency
    keyVaultPurgeProtection: keyVaultPurgeProtection
  }
}

// ---- platform roles, on each connection's own resource (any resource group or subscription) ---------

module azureMlRoles 'modules/azureml-role.bicep' = [for c in filter(azureMlConnections, x => x.?assignRole ?? true): {
  name: 'runbridge-role-aml-${uniqueString(c.subscriptionId, c.resourceGroup, c.workspace)}'
  scope: resourceGroup(c.subscriptionId, c.resourceGroup)
  params: {
    workspaceName: c.workspace
    principalId: identity.outputs.principalId
    roleDefinitionId: azureMlRole
  }
}]

// ---- Azure ML run status events (connections with events: 'eventgrid') -----------------------------------

var eventConnections = filter(azureMlConnections, x => (x.?events ?? '') == 'eventgrid' && (x.?wireEvents ?? true))

module azureMlEvents 'modules/azureml-events.bicep' = [for c in eventConnections: {
  name: 'runbridge-events-aml-${uniqueString(c.subscriptionId, c.resourceGroup, c.workspace)}'
  scope: resourceGroup(c.subscriptionId, c.resourceGroup)
  params: {
    workspaceName: c.workspace
    systemTopicName: c.?eventSystemTopic ?? 'evgt-${c.workspace}'
    functionAppId: app.outputs.functionAppId
    functionName: 'azureml_run_events'
    jobNamePrefix: 'runbridge-'
    deadLetterStorageId: app.outputs.storageAccountId
    deadLetterContainer: app.outputs.deadLetterContainerName
  }
}]

module deadLetterRoles 'modules/deadletter-role.bicep' = [for (c, i) in eventConnections: {
  name: 'runbridge-role-dl-${uniqueString(c.subscriptionId, c.resourceGroup, c.workspace)}'
  scope: rg
  params: {
    storageAccountName: app.outputs.storageAccountName
    principalId: azureMlEvents[i].outputs.topicPrincipalId
    roleDefinitionId: roles.storageBlobDataContributor
  }
}]

module foundryRoles 'modules/foundry-role.bicep' = [for c in filter(foundryAgentsConnections, x => (x.?assignRole ?? true) && !empty(x.?projectResourceId ?? '')): {
  name: 'runbridge-role-fdy-${uniqueString(c.?projectResourceId ?? '')}'
  scope: resourceGroup(split(c.?projectResourceId ?? '', '/')[2], split(c.?projectResourceId ?? '', '/')[4])
  params: {
    accountName: split(c.?projectResourceId ?? '', '/')[8]
    projectName: split(c.?projectResourceId ?? '', '/')[10]
    principalId: identity.outputs.principalId
    roleDefinitionId: foundryRole
  }
}]

module eventGridRoles 'modules/eventgrid-role.bicep' = [for s in filter(eventGridSinks, x => x.?assignRole ?? true): {
  name: 'runbridge-role-egt-${uniqueString(s.topicResourceId)}'
  scope: resourceGroup(split(s.topicResourceId, '/')[2], split(s.topicResourceId, '/')[4])
  params: {
    topicName: split(s.topicResourceId, '/')[8]
    principalId: identity.outputs.principalId
    roleDefinitionId: roles.eventGridDataSender
  }
}]

// ---- outputs (azd stores them in .azure/<env>/.env) ------------------------------------------------

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = app.outputs.functionAppName
output RUNBRIDGE_API_URL string = 'https://${app.outputs.defaultHostName}/api'
output AZURE_KEY_VAULT_NAME string = app.outputs.keyVaultName
output AZURE_STORAGE_ACCOUNT_NAME string = app.outputs.storageAccountName
output APPLICATIONINSIGHTS_NAME string = app.outputs.applicationInsightsName
output RUNBRIDGE_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output RUNBRIDGE_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output RUNBRIDGE_ABACUS_SECRET_NAMES array = app.outputs.abacusSecretNames
