"""Microsoft.Resources: subscriptions, resource groups and tags at scope."""
