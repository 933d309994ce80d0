"""Node plugins: one module per node, grouped by integration (see ARCHITECTURE.md, "Nodes").

The node SDK (``nodes/sdk.py``) and the registry (``nodes/registry.py``) arrive
with the workflow engine; third-party packs register through the
``hitl_studio.nodes`` entry-point group.
"""
