"""HTTP: the HTTP Request node and the generic credential types it authenticates with."""
