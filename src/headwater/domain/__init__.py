"""What the domain packages (connections, catalog, dataprep, flows) share: the typed collection service,
the wire documents' metadata, and the filterable metadata fields."""
