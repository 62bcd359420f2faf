// The Function App and what it runs on, in one resource group: host storage (Entra ID only), Log
// Analytics + Application Insights, Key Vault (Abacus API keys), the Flex Consumption plan and app, the
// app settings (host storage by identity, one CONNECTIONS__<name>__<key> per connection setting) and
// the roles the identity needs on these resources. Platform roles live in azureml-role.bicep and
// foundry-role.bicep, deployed where each workspace or project is.

param location string
param tags object
@description('Short unique suffix for globally unique names.')
param resourceToken string

@description('Resource id of the user-assigned identity (modules/identity.bicep).')
param identityId string
param identityClientId string
param identityPrincipalId string

@description('azureMlConnection objects (main.bicep).')
param azureMlConnections array
@description('foundryAgentsConnection objects (main.bicep).')
param foundryAgentsConnections array
@description('abacusConnection objects (main.bicep).')
param abacusConnections array
@secure()
param abacusApiKeys object

@description('Event Grid topics that receive run events (main.bicep eventGridSink).')
param eventGridSinks array

param principalId string
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string
param maximumInstanceCount int
param instanceMemoryMB int
param httpPerInstanceConcurrency int
param keyVaultPurgeProtection bool

var roles = loadJsonContent('../roles.json')
var functionAppName = 'func-runbridge-${resourceToken}'
var storageName = 'strb${resourceToken}'
var keyVaultName = 'kv-rb-${resourceToken}'
var deploymentContainerName = 'app-package'
var storageSuffix = environment().suffixes.storage
var keyVaultUri = 'https://${keyVaultName}${environment().suffixes.keyvaultDns}'

// The Key Vault secret that holds a connection's Abacus API key.
func abacusSecretName(c object) string => c.?apiKeySecretName ?? 'abacus-${toLower(replace(replace(c.name, '_', '-'), '.', '-'))}-api-key'

// ---- app settings -----------------------------------------------------------------------------------
// Host storage by identity (no AzureWebJobsStorage connection string anywhere). The Durable Functions
// Azure Storage provider reads the same AzureWebJobsStorage__* collection (host.json connectionName).
var hostStorageSettings = [
  { name: 'AzureWebJobsStorage__accountName', value: storageName }
  { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
  { name: 'AzureWebJobsStorage__clientId', value: identityClientId }
  { name: 'AzureWebJobsStorage__blobServiceUri', value: 'https://${storageName}.blob.${storageSuffix}' }
  { name: 'AzureWebJobsStorage__queueServiceUri', value: 'https://${storageName}.queue.${storageSuffix}' }
  { name: 'AzureWebJobsStorage__tableServiceUri', value: 'https://${storageName}.table.${storageSuffix}' }
]

// One list per connection: every key core/connections.py knows for the type. An optional key the
// deployer left out is written empty, which the app treats as unset (its default applies), so every
// knob is visible in the portal. tests/infra/test_app_settings.py keeps these keys and the app's equal.
var azureMlSettingLists = [for c in azureMlConnections: [
  { name: 'CONNECTIONS__${c.name}__type', value: 'azure_ml' }
  { name: 'CONNECTIONS__${c.name}__subscriptionId', value: c.subscriptionId }
  { name: 'CONNECTIONS__${c.name}__resourceGroup', value: c.resourceGroup }
  { name: 'CONNECTIONS__${c.name}__workspace', value: c.workspace }
  { name: 'CONNECTIONS__${c.name}__region', value: c.region }
  { name: 'CONNECTIONS__${c.name}__tenantId', value: c.?tenantId ?? '' }
  { name: 'CONNECTIONS__${c.name}__clientId', value: identityClientId }
  { name: 'CONNECTIONS__${c.name}__armEndpoint', value: c.?armEndpoint ?? '' }
  { name: 'CONNECTIONS__${c.name}__historyEndpoint', value: c.?historyEndpoint ?? '' }
  { name: 'CONNECTIONS__${c.name}__events', value: c.?events ?? '' }
]]

var foundryAgentsSettingLists = [for c in foundryAgentsConnections: [
  { name: 'CONNECTIONS__${c.name}__type', value: 'foundry_agents' }
  { name: 'CONNECTIONS__${c.name}__endpoint', value: c.endpoint }
  { name: 'CONNECTIONS__${c.name}__apiVersion', value: c.?apiVersion ?? '' }
  { name: 'CONNECTIONS__${c.name}__tenantId', value: c.?tenantId ?? '' }
  { name: 'CONNECTIONS__${c.name}__clientId', value: identityClientId }
  { name: 'CONNECTIONS__${c.name}__projectResourceId', value: c.?projectResourceId ?? '' }
]]

// The API key is a Key Vault reference, resolved by App Service with the identity (keyVaultReferenceIdentity);
// versionless, so a rotated secret is picked up without redeploying.
var abacusSettingLists = [for c in abacusConnections: [
  { name: 'CONNECTIONS__${c.name}__type', value: 'abacus' }
  { name: 'CONNECTIONS__${c.name}__endpoint', value: c.?endpoint ?? '' }
  { name: 'CONNECTIONS__${c.name}__dashboardEndpoint', value: c.?dashboardEndpoint ?? '' }
  { name: 'CONNECTIONS__${c.name}__apiKey', value: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}/secrets/${abacusSecretName(c)})' }
]]

// What the platform itself reads: telemetry, sent with the identity (local auth is off).
var platformSettings = [
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insights.properties.ConnectionString }
  { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identityClientId};Authorization=AAD' }
]
var connectionSettings = concat(flatten(azureMlSettingLists), flatten(foundryAgentsSettingLists), flatten(abacusSettingLists))
// One list per Event Grid sink (core/sinks.py); the app's identity authenticates (EventGrid Data Sender).
var eventGridSettingLists = [for s in eventGridSinks: [
  { name: 'NOTIFY__${s.name}__type', value: 'eventgrid' }
  { name: 'NOTIFY__${s.name}__topicEndpoint', value: s.topicEndpoint }
  { name: 'NOTIFY__${s.name}__clientId', value: identityClientId }
  { name: 'NOTIFY__${s.name}__types', value: s.?types ?? '' }
  { name: 'NOTIFY__${s.name}__perRequest', value: string(s.?perRequest ?? false) }
]]
var notifySettings = flatten(eventGridSettingLists)  // an empty optional value means unset, as for connections

// ---- storage ------------------------------------------------------------------------------------------

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

// Flex Consumption deploys the app package into this container (functionAppConfig.deployment).
resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

// Event Grid writes the Azure ML run events it could not deliver here (modules/azureml-events.bicep).
resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: 'eventgrid-deadletter'
  properties: {
    publicAccess: 'None'
  }
}

var storageRoleIds = [
  roles.storageBlobDataOwner
  roles.storageQueueDataContributor
  roles.storageTableDataContributor
]

resource storageRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for roleId in storageRoleIds: {
  name: guid(storage.id, identityPrincipalId, roleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}]

// ---- monitoring -----------------------------------------------------------------------------------------

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-runbridge-${resourceToken}'
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

// Local (instrumentation-key) ingestion is off: the app sends telemetry with its identity.
resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-runbridge-${resourceToken}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    DisableLocalAuth: true
  }
}

resource metricsPublisherRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(insights.id, identityPrincipalId, roles.monitoringMetricsPublisher)
  scope: insights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// ---- Key Vault (Abacus API keys) ------------------------------------------------------------------------

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: keyVaultName
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: keyVaultPurgeProtection ? true : null
    publicNetworkAccess: 'Enabled'
  }
}

resource abacusSecrets 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = [for c in filter(abacusConnections, x => contains(abacusApiKeys, x.name)): {
  parent: keyVault
  name: abacusSecretName(c)
  properties: {
    value: abacusApiKeys[c.name]
    contentType: 'Abacus.AI API key (runbridge connection ${c.name})'
  }
}]

resource secretsUserRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(keyVault.id, identityPrincipalId, roles.keyVaultSecretsUser)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The deployer may set and rotate the keys (az keyvault secret set); the app may only read them.
resource secretsOfficerRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(principalId)) {
  name: guid(keyVault.id, principalId, roles.keyVaultSecretsOfficer)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
    principalId: principalId
    principalType: principalType
  }
}

// ---- the Function App ---------------------------------------------------------------------------------

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-runbridge-${resourceToken}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientAffinityEnabled: false
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      // Flex Consumption takes the runtime from functionAppConfig: no FUNCTIONS_WORKER_RUNTIME or
      // FUNCTIONS_EXTENSION_VERSION here (the platform refuses them).
      appSettings: concat(platformSettings, hostStorageSettings, connectionSettings, notifySettings)
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: 'https://${storageName}.blob.${storageSuffix}/${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        triggers: {
          http: {
            perInstanceConcurrency: httpPerInstanceConcurrency
          }
        }
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
  dependsOn: [
    deploymentContainer
    storageRoles
    secretsUserRole
    metricsPublisherRole
  ]
}

// No FTP and no basic-auth publishing: deployments (azd, az functionapp deploy) authenticate with Entra ID.
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

output functionAppName string = site.name
output defaultHostName string = site.properties.defaultHostName
output keyVaultName string = keyVault.name
output storageAccountName string = storage.name
output storageAccountId string = storage.id
output deadLetterContainerName string = deadLetterContainer.name
output functionAppId string = site.id
output applicationInsightsName string = insights.name
output abacusSecretNames array = [for c in abacusConnections: abacusSecretName(c)]
