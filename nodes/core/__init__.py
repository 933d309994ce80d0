"""Built-in nodes that shape the flow and the items: Edit Fields, IF, Switch, Merge, Loop..."""
