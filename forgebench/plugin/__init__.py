"""What a plugin author imports: the contract (typed plugin objects and their inputs and outputs), the
entry-point registries, and the one converter from text and YAML to typed option dataclasses."""
