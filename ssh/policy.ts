// The rules console users' accounts follow, in one place. The console
// checks passwords an administrator sets (`user password`); PAM, configured
// from the same table (ssh/openssh.ts), checks the password a user chooses
// at first login and locks an account after repeated failed logins.

export interface CharacterClass {
  /** How a refusal names what is missing: "the password needs a digit". */
  name: string;
  pattern: RegExp;
  /** pam_pwquality's option requiring at least one of these (a negative credit). */
  pwquality: string;
}

export const PASSWORD_POLICY: { minLength: number; classes: readonly CharacterClass[]; maxAgeDays: number } = {
  minLength: 8,
  classes: [
    { name: 'an upper-case letter', pattern: /[A-Z]/, pwquality: 'ucredit=-1' },
    { name: 'a lower-case letter', pattern: /[a-z]/, pwquality: 'lcredit=-1' },
    { name: 'a digit', pattern: /\d/, pwquality: 'dcredit=-1' },
    { name: 'a symbol', pattern: /[^A-Za-z0-9]/, pwquality: 'ocredit=-1' },
  ],
  /** A password older than this must be changed at the next login. */
  maxAgeDays: 60,
};

export const LOCKOUT_POLICY = {
  /** Failed logins within `withinMinutes` that lock the account... */
  attempts: 5,
  withinMinutes: 15,
  /** ...for this long (an administrator may unlock it sooner with `user unlock`). */
  lockMinutes: 15,
} as const;

/** What a password lacks under the policy; empty when it is good. */
export function passwordProblems(password: string): string[] {
  const problems = password.length >= PASSWORD_POLICY.minLength ? [] : [`at least ${PASSWORD_POLICY.minLength} characters`];
  return [...problems, ...PASSWORD_POLICY.classes.filter((c) => !c.pattern.test(password)).map((c) => c.name)];
}
