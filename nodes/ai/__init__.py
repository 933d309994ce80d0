"""AI nodes on the OpenAI API (or any server speaking it): chat, embeddings, classification, extraction."""
