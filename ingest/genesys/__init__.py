"""The Genesys Cloud source (``callboard ingest --source genesys-cloud``): docs/integrations.md."""

from .source import GenesysCloudSource, genesys_cloud

__all__ = ["GenesysCloudSource", "genesys_cloud"]
