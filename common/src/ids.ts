import { badInput } from './errors.ts';
import { parseId } from './snowflake.ts';

/** Parses an ID argument. @throws BAD_USER_INPUT naming the argument. */
export function requireId(value: string, argument: string): bigint {
  const id = parseId(value);
  if (id === undefined) throw badInput(`${argument} is not a valid ID.`, { argument });
  return id;
}
