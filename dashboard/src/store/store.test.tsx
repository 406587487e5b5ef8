// @vitest-environment jsdom
import { act, render } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { createStore, shallowEqual, useStore } from './store';

describe('store', () => {
  it('notifies subscribers only on change and unsubscribes', () => {
    const s = createStore({ a: 1 });
    let n = 0;
    const off = s.subscribe(() => n++);
    s.setState((x) => x);
    expect(n).toBe(0);
    s.setState((x) => ({ ...x, a: 2 }));
    expect(n).toBe(1);
    off();
    s.setState((x) => ({ ...x, a: 3 }));
    expect(n).toBe(1);
  });

  it('useStore re-renders a component only when its selected slice changes', () => {
    const s = createStore({ a: 1, b: { x: 1 } });
    const renders = { a: 0, b: 0 };
    const selA = (st: { a: number }) => st.a;
    const selB = (st: { b: { x: number } }) => st.b;
    function A() {
      renders.a++;
      return <span>{useStore(s, selA)}</span>;
    }
    function B() {
      renders.b++;
      return <span>{useStore(s, selB).x}</span>;
    }
    render(
      <>
        <A />
        <B />
      </>,
    );
    act(() => s.setState((x) => ({ ...x, a: 2 })));
    expect(renders).toEqual({ a: 2, b: 1 });
    act(() => s.setState((x) => ({ ...x, b: { x: 2 } })));
    expect(renders).toEqual({ a: 2, b: 2 });
  });

  it('shallowEqual compares arrays and objects one level deep', () => {
    const o = {};
    expect(shallowEqual([1, o], [1, o])).toBe(true);
    expect(shallowEqual([1, {}], [1, {}])).toBe(false);
    expect(shallowEqual({ a: 1 }, { a: 1 })).toBe(true);
    expect(shallowEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
  });
});
