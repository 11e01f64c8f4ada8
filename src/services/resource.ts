// What every resource's use cases share: an id checked against the contract's Id rules, and
// hammer's messages for an invalid id (`invalid_<resource>`) and a missing one (`<resource>_does_not_exists`).
import { notFound } from '../errors.ts';
import { rules } from '../generated/rules.ts';
import { validate } from './validation.ts';

export function resource(name: string) {
  const checkId = (id: string) => validate<{ id: string }>(`invalid_${name}`, rules.Id, { id });
  const found = <Row>(row: Row | null): Row => {
    if (!row) throw notFound(`${name}_does_not_exists`);
    return row;
  };
  return {
    found,
    /** Reads one row by a checked id. */
    async get<Row>(id: string, read: (id: string) => Promise<Row | null>): Promise<Row> {
      checkId(id);
      return found(await read(id));
    },
    /** Deletes one row by a checked id. */
    async delete(id: string, remove: (id: string) => Promise<boolean>): Promise<void> {
      checkId(id);
      if (!(await remove(id))) throw notFound(`${name}_does_not_exists`);
    },
  };
}
