// A failure a user can act on (a bad setting, an unreachable database, a failed migration, no
// embedded PostgreSQL): the command line prints its message in one line, without a stack. A leaf
// module, so the command line recognises these failures without loading the modules that throw them.
export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
