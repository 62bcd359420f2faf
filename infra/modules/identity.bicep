// The user-assigned managed identity the Function App uses for everything: host storage, Key Vault
// references, Application Insights ingestion and the platforms (its clientId goes into each azure_ml
// and foundry_agents connection as `clientId`). Its own module, so app.bicep gets the clientId as a
// parameter known when that deployment starts (it builds the app settings with for-expressions).

@description('Name of the identity.')
param name string

param location string

param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
