"""Microsoft.Compute: managed images, galleries, image definitions and versions, scale sets, virtual machines."""
