"""What lives across commands: the registry of named resources and each kind of resource."""
