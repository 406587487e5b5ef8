// A fixed-row-height virtualised list: renders only the rows in view (plus overscan), so 60
// cars updating at 2 Hz re-render ~20 rows. Rows keep stable keys.
import { memo, useEffect, useRef, useState, type ReactNode } from 'react';

export interface VirtualListProps<T> {
  items: readonly T[];
  rowHeight: number;
  height: number;
  keyOf: (item: T) => string | number;
  renderRow: (item: T, index: number) => ReactNode;
  overscan?: number;
  label: string;
  header?: ReactNode;
}

function VirtualListImpl<T>({ items, rowHeight, height, keyOf, renderRow, overscan = 4, label, header }: VirtualListProps<T>) {
  const ref = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    let raf = 0;
    const onScroll = () => {
      cancelAnimationFrame(raf);
      raf = requestAnimationFrame(() => setTop(el.scrollTop));
    };
    el.addEventListener('scroll', onScroll, { passive: true });
    return () => {
      cancelAnimationFrame(raf);
      el.removeEventListener('scroll', onScroll);
    };
  }, []);
  const first = Math.max(0, Math.floor(top / rowHeight) - overscan);
  const last = Math.min(items.length, Math.ceil((top + height) / rowHeight) + overscan);
  const rows: ReactNode[] = [];
  for (let i = first; i < last; i++) {
    const it = items[i] as T;
    rows.push(
      <div key={keyOf(it)} role="row" aria-rowindex={i + 2} className="vrow" style={{ transform: `translateY(${i * rowHeight}px)`, height: rowHeight }}>
        {renderRow(it, i)}
      </div>,
    );
  }
  return (
    <div role="table" aria-label={label} aria-rowcount={items.length + 1} className="vtable">
      {header}
      <div ref={ref} className="vscroll" style={{ height }} tabIndex={0} role="rowgroup" aria-label={`${label} rows`}>
        <div style={{ height: items.length * rowHeight, position: 'relative' }}>{rows}</div>
      </div>
    </div>
  );
}

export const VirtualList = memo(VirtualListImpl) as typeof VirtualListImpl;
