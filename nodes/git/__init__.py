"""Git nodes: work with local repositories under the files folder, and their remotes."""
