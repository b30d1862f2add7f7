/** An error whose message is meant for the user (printed without a stack trace). */
export class UserError extends Error {
  readonly userFacing = true;
  constructor(message: string) {
    super(message);
    this.name = "UserError";
  }
}
