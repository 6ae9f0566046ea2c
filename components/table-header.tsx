export interface Column {
  label: string;
  /** Numbers read best right-aligned, under a right-aligned header. */
  numeric?: boolean;
  /** A column of buttons: named for screen readers, blank on screen. */
  hidden?: boolean;
}

/** The header row every table of the dashboard and the admin console shares. */
export function TableHeader({ columns, cellPadding = "px-6" }: { columns: Column[]; cellPadding?: "px-4" | "px-6" }) {
  return (
    <thead className="text-xs uppercase tracking-wide text-slate-500">
      <tr>
        {columns.map((column) => (
          <th key={column.label} scope="col" className={`${cellPadding} py-3 font-medium ${column.numeric ? "text-right" : ""}`}>
            {column.hidden ? <span className="sr-only">{column.label}</span> : column.label}
          </th>
        ))}
      </tr>
    </thead>
  );
}
