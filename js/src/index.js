// @ts-check
// The bundle's entry: the widget and its stylesheet (esbuild emits widget.css beside it).
import "./widget.css";

export { default } from "./widget.js";
