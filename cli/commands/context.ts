/** What a command's action gets from the program: commander's actions return nothing, so exit codes go through here. */
export interface CommandContext {
  setExitCode(code: number): void;
}
