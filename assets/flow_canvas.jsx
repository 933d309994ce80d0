// The workflow canvas: React Flow, wrapped for HITL Studio's Reflex editor.
//
// The browser keeps its own copy of nodes and edges and applies drags and
// selection locally; Python hears only finished actions (nodes moved on drag
// stop, connect, delete, select, drop from the palette, copy/paste, undo/redo,
// sticky-note edits). The graph prop changes only when the workflow's
// structure changes (its `version` goes up); run statuses arrive in their own
// prop and reach the cards through a per-card store that paints them as data
// attributes, so a status tick never re-sends the node list and renders no
// React component at all.
// See docs/ARCHITECTURE.md, "Studio".
import React, {
  createContext,
  memo,
  useCallback,
  useContext,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
} from "react";
import {
  Background,
  Controls,
  EdgeLabelRenderer,
  Handle,
  MiniMap,
  NodeResizer,
  Position,
  ReactFlow,
  ReactFlowProvider,
  applyEdgeChanges,
  applyNodeChanges,
  getSmoothStepPath,
  useReactFlow,
} from "@xyflow/react";
import { DynamicIcon } from "lucide-react/dynamic";

const NODE_MIME = "application/x-hitl-node";
// Fitting never zooms in past 100 %: a new workflow's single node stays card-sized.
const FIT_OPTIONS = { padding: 0.2, maxZoom: 1 };
const StatusContext = createContext(null);
const HandlersContext = createContext({});

// Run statuses are drawn by this stylesheet from data attributes that the
// status store writes on the cards' and edges' own elements (see paintCard):
// a status tick renders no React component and sets no inline style. The
// status rules set no custom property: one is inherited, and changing it on a
// card would restyle every element inside the card (the whole canvas, when a
// run touches all cards).
const STATUS_COLOURS = {
  running: "var(--blue-9)",
  succeeded: "var(--green-9)",
  failed: "var(--red-9)",
  waiting: "var(--amber-9)",
  queued: "var(--gray-8)",
  pinned: "var(--violet-9)",
};
const STATUS_CSS = [
  ".hitl-node { border-color: var(--hitl-ring); }",
  ".hitl-badge { display: none; background: var(--hitl-ring); }",
  ".hitl-node[data-run] > .hitl-badge { display: block; }",
  ...Object.entries(STATUS_COLOURS).flatMap(([status, colour]) => [
    `.hitl-node[data-status="${status}"] { border-color: ${colour}; }`,
    `.hitl-node[data-status="${status}"] > .hitl-badge { background: ${colour}; }`,
  ]),
  ".hitl-message { display: none; }",
  ".hitl-node[data-error] .hitl-message { display: block; }",
  ".hitl-edge-count { display: none; }",
  ".hitl-edge-count[data-count] { display: block; }",
  ".react-flow__edge-path[data-count] { stroke: var(--gray-8); stroke-width: 2; }",
  '.react-flow__edge-path[data-count="some"] { stroke: var(--green-9); }',
].join("\n");

function handleTop(index, count) {
  return `${((index + 1) * 100) / (count + 1)}%`;
}

function sameStatus(a, b) {
  if (a === b) return true;
  if (!a || !b) return false;
  const countsA = a.items || [];
  const countsB = b.items || [];
  return (
    a.status === b.status &&
    a.total === b.total &&
    a.message === b.message &&
    countsA.length === countsB.length &&
    countsA.every((count, index) => count === countsB[index])
  );
}

// Run statuses by node id. A card subscribes to its own id only: when a
// 300-entry statuses prop arrives, the cards whose entry did not change keep
// their object and are not rendered again (a context would render all 300).
function createStatusStore() {
  let current = {};
  const listeners = new Map();
  return {
    get: (id) => current[id],
    subscribe(id, listener) {
      if (!listeners.has(id)) listeners.set(id, new Set());
      listeners.get(id).add(listener);
      return () => listeners.get(id).delete(listener);
    },
    // Takes the new statuses, keeps the previous object of each unchanged
    // entry, and tells the subscribers of the ids that changed.
    update(next) {
      const previous = current;
      const merged = {};
      const changed = [];
      for (const [id, entry] of Object.entries(next || {})) {
        const kept = sameStatus(previous[id], entry) ? previous[id] : entry;
        merged[id] = kept;
        if (kept !== previous[id]) changed.push(id);
      }
      for (const id of Object.keys(previous)) if (!(id in merged)) changed.push(id);
      current = merged;
      for (const id of changed) for (const listener of listeners.get(id) || []) listener();
    },
  };
}

// Keeps an element's run status drawn: `paint(status)` runs now, and again
// whenever the store's entry for `id` changes, writing data attributes and
// text on elements React rendered once. React never renders these attributes
// or texts itself, so its re-renders (selection, a new graph) leave them be.
// Returns the draw function, for elements that mount later (a portal's).
function useStatusPainter(id, paint, deps) {
  const store = useContext(StatusContext);
  const draw = useCallback(() => paint(store.get(id)), [store, id, ...deps]);
  useLayoutEffect(() => {
    draw();
    return store.subscribe(id, draw);
  }, [store, id, draw]);
  return draw;
}

function setAttribute(element, name, value) {
  if (!element) return;
  if (value === null) {
    if (element.hasAttribute(name)) element.removeAttribute(name);
  } else if (element.getAttribute(name) !== value) {
    element.setAttribute(name, value);
  }
}

// Changes the text of an element's only text node in place: replacing the
// node would be an insertion, which restyles the whole document (see CardFrame).
function setText(element, text) {
  const node = element && element.firstChild;
  if (node && node.nodeValue !== text) node.nodeValue = text;
}

// A smooth-step edge that shows how many items went along it in the last run.
// The count comes from the status store (the source card's entry), not from
// the edge object: a run's statuses change no edge given to React Flow, which
// would otherwise rebuild its edge lookups and re-render every edge. The paths
// are BaseEdge's, written out so the visible one can carry the count's data
// attribute. The label is an HTML element (React Flow's SVG label measures
// itself with getBBox, a forced layout per edge) that is always there and only
// shown or hidden by the stylesheet.
function CountedEdge({ id, source, sourceHandleId, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, style, markerEnd, interactionWidth }) {
  const output = Number(String(sourceHandleId || "out-0").slice(4));
  const line = useRef(null);
  const label = useRef(null);
  const draw = useStatusPainter(
    source,
    (status) => {
      const count = status && status.items ? status.items[output] : undefined;
      const known = count !== undefined && count !== null;
      setAttribute(line.current, "data-count", known ? (count > 0 ? "some" : "none") : null);
      setAttribute(label.current, "data-count", known ? String(count) : null);
      setText(label.current, known ? `${count} item${count === 1 ? "" : "s"}` : "no items");
    },
    [output],
  );
  // The label lives in React Flow's label layer, which may mount after this
  // edge: it is painted when it arrives.
  const labelRef = useCallback(
    (element) => {
      label.current = element;
      if (element) draw();
    },
    [draw],
  );
  const [path, labelX, labelY] = getSmoothStepPath({ sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition });
  return (
    <>
      <path ref={line} id={id} d={path} fill="none" className="react-flow__edge-path" style={style} markerEnd={markerEnd} />
      <path d={path} fill="none" strokeOpacity={0} strokeWidth={interactionWidth || 20} className="react-flow__edge-interaction" />
      <EdgeLabelRenderer>
        <div
          ref={labelRef}
          className="nodrag nopan hitl-edge-count"
          data-testid={`edge-count-${id}`}
          style={{
            position: "absolute",
            transform: `translate(-50%, -50%) translate(${labelX}px, ${labelY}px)`,
            fontSize: 11,
            padding: "0 4px",
            borderRadius: 4,
            color: "var(--gray-12)",
            background: "var(--color-panel-solid)",
            pointerEvents: "none",
          }}
        >
          no items
        </div>
      </EdgeLabelRenderer>
    </>
  );
}

// Writes a card's run status on its elements: the frame's data-status (its
// outline colour, through the stylesheet), data-run (the badge shown),
// data-error (the error line shown), and the badge's and error line's texts.
function paintCard(frame, status, pinned) {
  if (!frame) return;
  const state = status ? status.status : pinned ? "pinned" : "idle";
  const total = status && status.total !== undefined && status.total !== null ? ` · ${status.total}` : "";
  const message = status && status.message ? status.message : "";
  setAttribute(frame, "data-status", state);
  setAttribute(frame, "data-run", status ? "" : null);
  setAttribute(frame, "data-error", message ? "" : null);
  setText(frame.querySelector(":scope > .hitl-badge"), `${state}${total}`);
  setText(frame.querySelector(".hitl-message"), message || "no error");
}

// A card's outline, badge and error line follow its run status. React renders
// the frame for its selection, problem and pinned look only; the status is
// painted on it (paintCard) from the store, so a run's tick over 300 cards
// costs a few attribute writes instead of 300 renders. The badge and the error
// line are always in the page, shown or hidden, and never empty (an empty
// element gains a text node when filled): Radix Themes' stylesheet has
// :root:has(*) rules, so inserting a node anywhere makes the browser restyle
// the whole document (7,800 elements with 300 cards).
function CardFrame({ id, data, selected, height, children }) {
  const frame = useRef(null);
  useStatusPainter(id, (status) => paintCard(frame.current, status, data.pinned), [data.pinned]);
  const ring = data.problem ? "var(--red-7)" : selected ? "var(--accent-9)" : "var(--gray-7)";
  return (
    <div
      ref={frame}
      className="hitl-node"
      data-testid={`canvas-node-${data.name}`}
      title={data.problem || data.description}
      style={{
        "--hitl-ring": ring,
        width: 200,
        height,
        display: "flex",
        alignItems: "center",
        gap: 10,
        padding: "8px 12px",
        borderRadius: data.trigger ? "28px 8px 8px 28px" : 8,
        borderWidth: 2,
        borderStyle: "solid",
        boxShadow: selected ? "0 0 0 3px var(--accent-a5)" : "0 1px 3px var(--black-a3)",
        background: "var(--color-panel-solid)",
        color: "var(--gray-12)",
        opacity: data.disabled ? 0.5 : 1,
        fontFamily: "var(--default-font-family)",
        position: "relative",
      }}
    >
      {children}
      <div
        className="hitl-badge"
        data-testid={`node-status-${data.name}`}
        style={{
          position: "absolute",
          top: -10,
          right: 8,
          fontSize: 10,
          padding: "1px 6px",
          borderRadius: 8,
          color: "white",
        }}
      >
        idle
      </div>
    </div>
  );
}

function CardMessage() {
  return (
    <div
      className="hitl-message"
      style={{
        fontSize: 11,
        color: "var(--red-11)",
        overflow: "hidden",
        textOverflow: "ellipsis",
        whiteSpace: "nowrap",
      }}
    >
      no error
    </div>
  );
}

function WorkflowNode({ id, data, selected }) {
  const height = Math.max(64, 26 * Math.max(data.inputs.length, data.outputs.length) + 12);
  const labelled = data.outputs.length > 1;
  return (
    <CardFrame id={id} data={data} selected={selected} height={height}>
      {data.inputs.map((label, index) => (
        <Handle
          key={`in-${index}`}
          type="target"
          position={Position.Left}
          id={`in-${index}`}
          style={{ top: handleTop(index, data.inputs.length), width: 10, height: 10, background: "var(--gray-9)" }}
          title={label}
        />
      ))}
      <div style={{ flex: "none", color: "var(--accent-11)", display: "flex" }}>
        <DynamicIcon name={data.icon || "box"} size={22} />
      </div>
      <div style={{ minWidth: 0, flex: 1 }}>
        <div style={{ fontWeight: 600, fontSize: 13, overflow: "hidden", textOverflow: "ellipsis", whiteSpace: "nowrap" }}>
          {data.name}
        </div>
        <div style={{ fontSize: 11, color: "var(--gray-11)", overflow: "hidden", textOverflow: "ellipsis", whiteSpace: "nowrap" }}>
          {data.subtitle || data.label}
        </div>
        <CardMessage />
      </div>
      {data.outputs.map((label, index) => (
        <React.Fragment key={`out-${index}`}>
          <Handle
            type="source"
            position={Position.Right}
            id={`out-${index}`}
            style={{
              top: handleTop(index, data.outputs.length),
              width: 10,
              height: 10,
              background: label === "error" ? "var(--red-9)" : "var(--gray-9)",
            }}
            title={label}
          />
          {labelled ? (
            <div
              style={{
                position: "absolute",
                right: -6,
                top: handleTop(index, data.outputs.length),
                transform: "translate(100%, -120%)",
                fontSize: 10,
                color: "var(--gray-11)",
                pointerEvents: "none",
                whiteSpace: "nowrap",
              }}
            >
              {label}
            </div>
          ) : null}
        </React.Fragment>
      ))}
    </CardFrame>
  );
}

function StickyNote({ id, data, selected }) {
  const handlers = useContext(HandlersContext);
  const [text, setText] = useState(data.text);
  useEffect(() => setText(data.text), [data.text]);
  const save = (width, height) => handlers.noteChanged({ id, text, width, height });
  return (
    <>
      <NodeResizer
        isVisible={selected && !handlers.readOnly}
        minWidth={160}
        minHeight={80}
        onResizeEnd={(_event, params) => save(Math.round(params.width), Math.round(params.height))}
      />
      <textarea
        className="nodrag nowheel"
        data-testid="sticky-note-text"
        value={text}
        readOnly={handlers.readOnly}
        placeholder="Write a note…"
        onChange={(event) => setText(event.target.value)}
        onBlur={() => {
          if (text !== data.text) save(data.width, data.height);
        }}
        style={{
          width: "100%",
          height: "100%",
          resize: "none",
          border: "none",
          outline: "none",
          padding: 10,
          borderRadius: 6,
          background: "var(--amber-3)",
          color: "var(--gray-12)",
          fontFamily: "var(--default-font-family)",
          fontSize: 13,
          boxShadow: selected ? "0 0 0 2px var(--amber-8)" : "0 1px 3px var(--black-a3)",
        }}
      />
    </>
  );
}

const NODE_TYPES = { workflow: memo(WorkflowNode), sticky: memo(StickyNote) };
const EDGE_TYPES = { counted: memo(CountedEdge) };
const EDGE_OPTIONS = { type: "counted" };

function toNodes(graph, previous) {
  const selected = new Set((previous || []).filter((node) => node.selected).map((node) => node.id));
  const nodes = (graph.nodes || []).map((node) => ({
    id: node.id,
    type: "workflow",
    position: { x: node.x, y: node.y },
    data: node,
    selected: selected.has(node.id),
  }));
  const notes = (graph.notes || []).map((note) => ({
    id: note.id,
    type: "sticky",
    position: { x: note.x, y: note.y },
    width: note.width,
    height: note.height,
    zIndex: -1,
    data: note,
    selected: selected.has(note.id),
  }));
  return [...notes, ...nodes];
}

function toEdges(graph, previous) {
  const selected = new Set((previous || []).filter((edge) => edge.selected).map((edge) => edge.id));
  return (graph.edges || []).map((edge) => ({ ...edge, selected: selected.has(edge.id) }));
}

function isTyping(target) {
  if (!target) return false;
  const tag = target.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
}

function Canvas(props) {
  const { graph, readOnly, colorMode } = props;
  const flow = useReactFlow();
  const [nodes, setNodes] = useState(() => toNodes(graph));
  const [edges, setEdges] = useState(() => toEdges(graph));
  const selection = useRef({ key: "", ids: [] });
  const fitted = useRef(graph.fit_key);
  const call = (name, ...args) => {
    if (typeof props[name] === "function") props[name](...args);
  };

  useEffect(() => {
    setNodes((previous) => toNodes(graph, previous));
    setEdges((previous) => toEdges(graph, previous));
    if (graph.fit_key !== fitted.current) {
      fitted.current = graph.fit_key;
      window.requestAnimationFrame(() => flow.fitView(FIT_OPTIONS));
    }
  }, [graph.version]);

  const onNodesChange = useCallback((changes) => setNodes((current) => applyNodeChanges(changes, current)), []);
  const onEdgesChange = useCallback((changes) => setEdges((current) => applyEdgeChanges(changes, current)), []);

  const onNodeDragStop = useCallback(
    (_event, _node, dragged) => {
      call(
        "onNodesMoved",
        dragged.map((node) => ({ id: node.id, x: Math.round(node.position.x), y: Math.round(node.position.y) })),
      );
    },
    [props.onNodesMoved],
  );

  const onSelectionChange = useCallback(
    ({ nodes: picked, edges: pickedEdges }) => {
      const ids = picked.map((node) => node.id);
      const key = ids.join(",") + "|" + pickedEdges.map((edge) => edge.id).join(",");
      if (key === selection.current.key) return;
      selection.current = { key, ids };
      call("onSelect", ids);
    },
    [props.onSelect],
  );

  const onConnect = useCallback(
    (connection) => {
      call("onConnectNodes", {
        source: connection.source,
        sourceHandle: connection.sourceHandle || "out-0",
        target: connection.target,
        targetHandle: connection.targetHandle || "in-0",
      });
    },
    [props.onConnectNodes],
  );

  const isValidConnection = useCallback(
    (connection) =>
      connection.source !== connection.target &&
      !edges.some(
        (edge) =>
          edge.source === connection.source &&
          edge.target === connection.target &&
          edge.sourceHandle === connection.sourceHandle &&
          edge.targetHandle === connection.targetHandle,
      ),
    [edges],
  );

  const onDelete = useCallback(
    ({ nodes: gone, edges: goneEdges }) => {
      call("onDeleteElements", { nodes: gone.map((node) => node.id), edges: goneEdges.map((edge) => edge.id) });
    },
    [props.onDeleteElements],
  );

  const onDragOver = useCallback((event) => {
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
  }, []);

  const onDrop = useCallback(
    (event) => {
      event.preventDefault();
      const type = event.dataTransfer.getData(NODE_MIME);
      if (!type || readOnly) return;
      const point = flow.screenToFlowPosition({ x: event.clientX, y: event.clientY });
      call("onDropNode", { type, x: Math.round(point.x - 100), y: Math.round(point.y - 32) });
    },
    [props.onDropNode, readOnly],
  );

  useEffect(() => {
    const onKey = (event) => {
      if (isTyping(event.target) || readOnly) return;
      const mod = event.ctrlKey || event.metaKey;
      if (!mod) return;
      const key = event.key.toLowerCase();
      if (key === "c") call("onCopyNodes", selection.current.ids);
      else if (key === "v") call("onPasteNodes");
      else if (key === "z" && event.shiftKey) call("onRedo");
      else if (key === "z") call("onUndo");
      else if (key === "y") call("onRedo");
      else return;
      event.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [props.onCopyNodes, props.onPasteNodes, props.onUndo, props.onRedo, readOnly]);

  const handlers = useMemo(
    () => ({ readOnly, noteChanged: (change) => call("onNoteChange", change) }),
    [readOnly, props.onNoteChange],
  );

  return (
    <HandlersContext.Provider value={handlers}>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={NODE_TYPES}
        edgeTypes={EDGE_TYPES}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onNodeDragStop={onNodeDragStop}
        onSelectionChange={onSelectionChange}
        onConnect={onConnect}
        isValidConnection={isValidConnection}
        onDelete={onDelete}
        onDragOver={onDragOver}
        onDrop={onDrop}
        onNodeDoubleClick={(_event, node) => call("onOpenNode", node.id)}
        nodesDraggable={!readOnly}
        nodesConnectable={!readOnly}
        deleteKeyCode={readOnly ? null : ["Backspace", "Delete"]}
        multiSelectionKeyCode={["Shift", "Meta", "Control"]}
        colorMode={colorMode === "dark" ? "dark" : "light"}
        defaultEdgeOptions={EDGE_OPTIONS}
        minZoom={0.1}
        maxZoom={2}
        fitView
        fitViewOptions={FIT_OPTIONS}
        proOptions={{ hideAttribution: true }}
      >
        <Background gap={20} />
        <Controls showInteractive={false} />
        <MiniMap pannable zoomable nodeStrokeWidth={3} />
      </ReactFlow>
    </HandlersContext.Provider>
  );
}

const MemoCanvas = memo(Canvas);

// Statuses go to the store, which paints the cards and edges they changed:
// a status tick renders neither the canvas nor React Flow nor any card.
export function FlowCanvas({ statuses, ...props }) {
  const [statusStore] = useState(createStatusStore);
  useLayoutEffect(() => {
    statusStore.update(statuses);
  }, [statuses]);
  return (
    <div data-testid="flow-canvas" style={{ width: "100%", height: "100%" }}>
      <style>{STATUS_CSS}</style>
      <StatusContext.Provider value={statusStore}>
        <ReactFlowProvider>
          <MemoCanvas {...props} />
        </ReactFlowProvider>
      </StatusContext.Provider>
    </div>
  );
}
