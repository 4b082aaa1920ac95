import asyncio

from services.animator.server import main

asyncio.run(main())
