/*
 * home.h: where packcode keeps its state on this machine.
 *
 * $PACKCODE_HOME if set, else the working directory: the keyring lives in
 * HOME/keyring and the embedded PostgreSQL cluster in HOME/var/pg.
 */
#ifndef PACKCODE_HOME_H
#define PACKCODE_HOME_H

const char *packcode_home(void);

#endif
