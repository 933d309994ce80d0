"""The React Flow canvas as a Reflex component (see ``assets/flow_canvas.jsx``)."""

from hitl_studio.ui.components.flow.canvas import NODE_DRAG_MIME, FlowCanvas, flow_canvas, palette_drag_start

__all__ = ["NODE_DRAG_MIME", "FlowCanvas", "flow_canvas", "palette_drag_start"]
